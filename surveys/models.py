"""Questionnaires in four parts, their versions, questions, choices and skip rules, and the
interviews (responses and answers) taken with a published version."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class Mode(models.TextChoices):
    AGENT = "agent", _("Call agents")
    VOICE = "voice", _("Automated voice survey")


class Kind(models.TextChoices):
    SURVEY = "survey", _("Survey")
    MARKETING = "marketing", _("Marketing")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class QuestionType(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    SCALE = "scale", _("Rating scale")
    NPS = "nps", _("Recommendation (0-10)")
    YES_NO = "yes_no", _("Yes / no")
    NUMBER = "number", pgettext_lazy("question type", "Number")
    TEXT = "text", _("Open text")
    STATEMENT = "statement", _("Statement (read out only)")


CHOICE_TYPES = frozenset(
    {QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.SCALE, QuestionType.YES_NO}
)
NUMBER_TYPES = frozenset({QuestionType.NUMBER, QuestionType.NPS})


class Special(models.TextChoices):
    DONT_KNOW = "dk", _("Don't know")
    REFUSED = "refused", _("Refused")


class Condition(models.TextChoices):
    CHOICE = "choice", _("The answer is this choice")
    ANY_OF = "any_of", _("The answer is any of these choices")
    RANGE = "range", _("The number is in this range")
    SPECIAL = "special", _("Don't know or refused")
    ANY = "any", _("Any answer")


class Action(models.TextChoices):
    GOTO = "goto", _("Go to question")
    CLOSING = "closing", _("Go to the closing")
    SCREEN_OUT = "screen_out", _("End the interview (screen-out)")


class ResponseStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    SCREENED_OUT = "screened_out", _("Screened out")
    PARTIAL = "partial", _("Partial")
    ABANDONED = "abandoned", _("Abandoned")


KEYPAD_DIGITS = tuple(str(d) for d in range(10))


def _frozen_error() -> ValidationError:
    return ValidationError(
        _("This version is published and can no longer be changed; start a new draft instead."),
        code="frozen",
    )


class Questionnaire(models.Model):
    name = models.CharField(_("name"), max_length=200)
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(language__in=Language.values), name="surveys_questionnaire_language"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class QuestionnaireVersion(models.Model):
    """One edition of a questionnaire: the four parts and the body. Frozen once published."""

    PART_FIELDS = (
        "greeting_salutation",
        "greeting_introduction",
        "transition_purpose",
        "transition_duration_minutes",
        "transition_cost",
        "closing_summary",
        "closing_thanks",
        "closing_wishes",
    )
    SETTING_FIELDS = ("mode", "kind", "extra_placeholders")

    questionnaire = models.ForeignKey(
        Questionnaire,
        verbose_name=_("questionnaire"),
        on_delete=models.PROTECT,
        related_name="versions",
    )
    number = models.PositiveIntegerField(_("version number"))
    status = models.CharField(
        _("status"), max_length=20, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.AGENT)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SURVEY)
    extra_placeholders = models.JSONField(
        _("extra placeholders"),
        default=list,
        blank=True,
        help_text=_("Names of contact attributes the script may use, such as plan or city."),
    )
    greeting_salutation = models.TextField(_("salutation"), blank=True)
    greeting_introduction = models.TextField(_("self-introduction"), blank=True)
    transition_purpose = models.TextField(_("purpose of the call"), blank=True)
    transition_duration_minutes = models.PositiveSmallIntegerField(
        _("promised duration (minutes)"), null=True, blank=True
    )
    transition_cost = models.TextField(
        _("cost or reward"),
        blank=True,
        help_text=_("What the call costs the customer, or the reward they receive."),
    )
    closing_summary = models.TextField(_("summary"), blank=True)
    closing_thanks = models.TextField(_("thanks"), blank=True)
    closing_wishes = models.TextField(_("good wishes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("questionnaire version")
        verbose_name_plural = _("questionnaire versions")
        ordering = ["questionnaire", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "number"], name="surveys_version_unique_number"
            ),
            models.UniqueConstraint(
                fields=["questionnaire"],
                condition=Q(status="draft"),
                name="surveys_version_one_draft",
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="surveys_version_number_gte_1"),
            models.CheckConstraint(
                condition=Q(status__in=VersionStatus.values), name="surveys_version_status"
            ),
            models.CheckConstraint(condition=Q(mode__in=Mode.values), name="surveys_version_mode"),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="surveys_version_kind"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="surveys_version_published_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.questionnaire.name} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == VersionStatus.PUBLISHED

    @property
    def is_marketing(self) -> bool:
        return self.kind == Kind.MARKETING

    def clean(self) -> None:
        super().clean()
        if self.pk is None:
            return
        stored = QuestionnaireVersion.objects.filter(pk=self.pk).values().first()
        if stored is None or stored["status"] != VersionStatus.PUBLISHED:
            return
        for name in (*self.PART_FIELDS, *self.SETTING_FIELDS, "status"):
            if stored[name] != getattr(self, name):
                raise _frozen_error()


class _VersionContent(models.Model):
    """Content that belongs to a version and freezes with it."""

    class Meta:
        abstract = True

    def owning_version(self) -> QuestionnaireVersion | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def clean(self) -> None:
        super().clean()
        version = self.owning_version()
        if version is not None and version.is_published:
            raise _frozen_error()


class Question(_VersionContent):
    version = models.ForeignKey(
        QuestionnaireVersion,
        verbose_name=_("version"),
        on_delete=models.CASCADE,
        related_name="questions",
    )
    position = models.PositiveIntegerField(_("position"))
    code = models.CharField(_("code"), max_length=20)
    type = models.CharField(_("type"), max_length=20, choices=QuestionType.choices)
    text = models.TextField(_("text read aloud"), blank=True)
    instruction = models.TextField(
        _("interviewer instruction"), blank=True, help_text=_("Shown to the agent, never read.")
    )
    required = models.BooleanField(_("required"), default=True)
    allow_dont_know = models.BooleanField(_('"don\'t know" allowed'), default=False)
    allow_refused = models.BooleanField(_('"refused" allowed'), default=False)
    confirms_identity = models.BooleanField(_("confirms identity"), default=False)
    records_consent = models.BooleanField(_("records consent to a service"), default=False)
    min_value = models.DecimalField(
        _("minimum"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    max_value = models.DecimalField(
        _("maximum"), max_digits=14, decimal_places=4, null=True, blank=True
    )

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "code"], name="surveys_question_unique_code"
            ),
            models.UniqueConstraint(
                fields=["version", "position"], name="surveys_question_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(type__in=QuestionType.values), name="surveys_question_type"
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(min_value__lte=models.F("max_value")),
                name="surveys_question_min_lte_max",
            ),
            models.CheckConstraint(condition=~Q(code=""), name="surveys_question_code_not_empty"),
        ]

    def __str__(self) -> str:
        return self.code

    def owning_version(self) -> QuestionnaireVersion | None:
        return self.version if self.version_id else None

    @property
    def has_choices(self) -> bool:
        return self.type in CHOICE_TYPES


class Choice(_VersionContent):
    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="choices"
    )
    position = models.PositiveIntegerField(_("position"))
    code = models.IntegerField(_("code"))
    label = models.CharField(_("label"), max_length=500, blank=True)
    keypad = models.CharField(
        _("keypad digit"),
        max_length=1,
        blank=True,
        choices=[(d, d) for d in KEYPAD_DIGITS],
    )
    exclusive = models.BooleanField(
        _("exclusive"), default=False, help_text=_("Cannot be chosen together with others.")
    )
    specify = models.BooleanField(_("other, please specify"), default=False)

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ["question", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question", "code"], name="surveys_choice_unique_code"),
            models.UniqueConstraint(
                fields=["question", "position"], name="surveys_choice_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(keypad="") | Q(keypad__in=KEYPAD_DIGITS), name="surveys_choice_keypad"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"

    def owning_version(self) -> QuestionnaireVersion | None:
        return self.question.version if self.question_id else None


class Rule(_VersionContent):
    """A skip rule on a question: when its condition matches the answer, take its action."""

    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="rules"
    )
    position = models.PositiveIntegerField(_("position"))
    condition = models.CharField(_("condition"), max_length=20, choices=Condition.choices)
    choices = models.ManyToManyField(
        Choice, verbose_name=_("choices"), blank=True, related_name="rules"
    )
    min_value = models.DecimalField(
        _("from"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    max_value = models.DecimalField(_("to"), max_digits=14, decimal_places=4, null=True, blank=True)
    special = models.CharField(
        _("special answer"),
        max_length=10,
        choices=Special.choices,
        blank=True,
        help_text=_("Leave empty to match both don't know and refused."),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    target = models.ForeignKey(
        Question,
        verbose_name=_("target question"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="incoming_rules",
    )

    class Meta:
        verbose_name = _("skip rule")
        verbose_name_plural = _("skip rules")
        ordering = ["question", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "position"], name="surveys_rule_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(condition__in=Condition.values), name="surveys_rule_condition"
            ),
            models.CheckConstraint(
                condition=Q(action__in=Action.values), name="surveys_rule_action"
            ),
            models.CheckConstraint(
                condition=Q(action="goto", target__isnull=False)
                | (~Q(action="goto") & Q(target__isnull=True)),
                name="surveys_rule_target_iff_goto",
            ),
            models.CheckConstraint(
                condition=~Q(condition="range")
                | Q(min_value__isnull=False)
                | Q(max_value__isnull=False),
                name="surveys_rule_range_bound",
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(min_value__lte=models.F("max_value")),
                name="surveys_rule_min_lte_max",
            ),
            models.CheckConstraint(
                condition=Q(special="") | Q(special__in=Special.values), name="surveys_rule_special"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question.code} #{self.position}"

    def owning_version(self) -> QuestionnaireVersion | None:
        return self.question.version if self.question_id else None


class Response(models.Model):
    """One interview with one person, taken with a published version."""

    version = models.ForeignKey(
        QuestionnaireVersion,
        verbose_name=_("questionnaire version"),
        on_delete=models.PROTECT,
        related_name="responses",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ResponseStatus.choices,
        default=ResponseStatus.IN_PROGRESS,
    )
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    current_question = models.ForeignKey(
        Question,
        verbose_name=_("current question"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["version", "status"], name="surveys_resp_version_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ResponseStatus.values), name="surveys_response_status"
            ),
            models.CheckConstraint(
                condition=Q(status="in_progress", finished_at__isnull=True)
                | (~Q(status="in_progress") & Q(finished_at__isnull=False)),
                name="surveys_response_finished_iff_ended",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == ResponseStatus.IN_PROGRESS


class Answer(models.Model):
    """The answer to one question in one response. Selected choices are AnswerChoice rows,
    so counting per choice is a plain GROUP BY over an indexed table."""

    response = models.ForeignKey(
        Response, verbose_name=_("response"), on_delete=models.PROTECT, related_name="answers"
    )
    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.PROTECT, related_name="answers"
    )
    number = models.DecimalField(
        _("number"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    text = models.TextField(_("text"), blank=True)
    special = models.CharField(
        _("special answer"), max_length=10, choices=Special.choices, blank=True
    )
    answered_at = models.DateTimeField(_("answered at"))

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["response", "question__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question"], name="surveys_answer_unique_question"
            ),
            models.CheckConstraint(
                condition=Q(special="") | Q(special__in=Special.values),
                name="surveys_answer_special",
            ),
        ]
        indexes = [models.Index(fields=["question", "special"], name="surveys_answer_q_special")]

    def __str__(self) -> str:
        return f"{self.response_id}/{self.question_id}"


class AnswerChoice(models.Model):
    """One selected choice of an answer; question is repeated for per-question counting."""

    answer = models.ForeignKey(
        Answer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="selected"
    )
    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.PROTECT, related_name="+"
    )
    choice = models.ForeignKey(
        Choice, verbose_name=_("choice"), on_delete=models.PROTECT, related_name="answer_choices"
    )
    specify_text = models.CharField(_("specified"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("selected choice")
        verbose_name_plural = _("selected choices")
        constraints = [
            models.UniqueConstraint(
                fields=["answer", "choice"], name="surveys_answerchoice_unique"
            ),
        ]
        indexes = [models.Index(fields=["question", "choice"], name="surveys_ansch_q_choice")]

    def __str__(self) -> str:
        return f"{self.answer_id}:{self.choice_id}"
