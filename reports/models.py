"""What reports keep: the weights and targets of the satisfaction index, the four-section
analysis of a results scope, and the Excel export jobs."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SegmentWeight(models.Model):
    """The weight of a customer segment (a brand) in the satisfaction index. A respondent
    belongs to the segment when their brand, from the contact attributes or from the
    questionnaire's brand question, equals one of the aliases."""

    name = models.CharField(_("segment"), max_length=100, unique=True)
    aliases = models.CharField(
        _("also written as"),
        max_length=500,
        blank=True,
        help_text=_("Other names of the segment, separated by commas, such as 神州行, Easyown."),
    )
    weight = models.DecimalField(
        _("weight (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("segment weight")
        verbose_name_plural = _("segment weights")
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight__gte=0) & Q(weight__lte=100), name="reports_weight_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.weight}%"

    def names(self) -> set[str]:
        found = {self.name, *self.aliases.replace("，", ",").split(",")}
        return {name.strip().casefold() for name in found if name.strip()}


class SatisfactionTarget(models.Model):
    """The satisfaction a kind of campaign must reach (complaint callbacks: 78%)."""

    kind = models.CharField(_("kind of campaign"), max_length=30, unique=True)
    percent = models.DecimalField(
        _("target (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )

    class Meta:
        verbose_name = _("satisfaction target")
        verbose_name_plural = _("satisfaction targets")
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="reports_target_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} {self.percent}%"

    @property
    def kind_label(self) -> str:
        from outbound.models import WorkOrder

        try:
            return str(WorkOrder.Kind(self.kind).label)
        except ValueError:
            return self.kind


class Analysis(models.Model):
    """The four-section result analysis (外呼结果分析) of one results scope: a questionnaire
    version's interviews now, a work order's once campaigns carry their interviews."""

    version = models.ForeignKey(
        "surveys.QuestionnaireVersion",
        verbose_name=_("questionnaire version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    work_order = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("work order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    background = models.TextField(_("project background"), blank=True)
    data_analysis = models.TextField(_("data analysis"), blank=True)
    content_analysis = models.TextField(_("analysis of the main content"), blank=True)
    suggestions = models.TextField(_("actionable suggestions"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last edited by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    SECTIONS = ("background", "data_analysis", "content_analysis", "suggestions")

    class Meta:
        verbose_name = _("result analysis")
        verbose_name_plural = _("result analyses")
        constraints = [
            models.CheckConstraint(
                condition=Q(version__isnull=False, work_order__isnull=True)
                | Q(version__isnull=True, work_order__isnull=False),
                name="reports_analysis_one_scope",
            ),
            models.UniqueConstraint(
                fields=["version"],
                condition=Q(work_order__isnull=True),
                name="reports_analysis_unique_version",
            ),
            models.UniqueConstraint(
                fields=["work_order"],
                condition=Q(work_order__isnull=False),
                name="reports_analysis_unique_order",
            ),
        ]

    def __str__(self) -> str:
        return str(self.version or self.work_order)


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ExportJob(models.Model):
    """One Excel workbook of a results scope, built by a background task."""

    version = models.ForeignKey(
        "surveys.QuestionnaireVersion",
        verbose_name=_("questionnaire version"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    work_order = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("work order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The filters and cross-tabs of the page the export was asked from.
    options = models.JSONField(_("options"), default=dict, blank=True)
    show_phones = models.BooleanField(_("phone numbers shown whole"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The workbook was deleted at the end of its campaign's retention.
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Excel export")
        verbose_name_plural = _("Excel exports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ExportStatus.values), name="reports_export_status"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="reports_export_progress"),
        ]

    def __str__(self) -> str:
        return f"{self.version} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)


class TallyScope(models.Model):
    """Whether the kept counts of a questionnaire version can be read: they are once built
    from the interviews (tallies_rebuild), and from then on every change to an interview
    updates them in its own transaction. Changes share-lock this row; a rebuild locks it
    alone, so none slips between the two."""

    version = models.OneToOneField(
        "surveys.QuestionnaireVersion",
        verbose_name=_("questionnaire version"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    ready = models.BooleanField(_("ready"), default=False)
    built_at = models.DateTimeField(_("built at"), null=True, blank=True)
    # When a results page asked for the counts to be built (a task builds them).
    requested_at = models.DateTimeField(_("requested at"), null=True, blank=True)

    class Meta:
        verbose_name = _("kept counts of a version")
        verbose_name_plural = _("kept counts of versions")

    def __str__(self) -> str:
        return f"{self.version_id}: {self.ready}"


class TallyKind(models.TextChoices):
    RESPONSE = "response", _("Interviews")
    ANSWER = "answer", _("Answers")
    CHOICE = "choice", _("Selected choices")
    PICKED = "picked", _("Answers with a selection")
    # Kept for finished interviews only (cross-tabs and the index read them).
    PAIR = "pair", _("Pairs of selected choices")
    WITH = "with", _("Selected choices with an answered question")
    BOTH = "both", _("Pairs of answered questions")
    PEOPLE = "people", _("Interviews by contact attribute")
    ATTR_CHOICE = "attrchoice", _("Selected choices by contact attribute")
    ATTR_PICKED = "attrpicked", _("Answers with a selection by contact attribute")


class Tally(models.Model):
    """One kept count of a version's interviews in one status: of interviews, of answers
    to a question (by special answer, number and whether a text was given), of selections
    of a choice, or of answers with at least one selection. The question and choice are
    plain ids (0 where none), so the whole key is NOT NULL and can be upserted.

    Finished interviews also count in pairs, for cross-tabs and the index: two selections
    in one interview (the second one's question and choice in the `other_` fields, the
    question with the lower id first), a selection beside another question answered, two
    questions answered; and by contact attribute (its name in `special`, its value in
    `value`): interviews, selections, and answers with a selection."""

    version = models.ForeignKey(
        "surveys.QuestionnaireVersion",
        verbose_name=_("questionnaire version"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    status = models.CharField(_("status"), max_length=20)
    kind = models.CharField(_("kind"), max_length=10, choices=TallyKind.choices)
    question_id = models.IntegerField(_("question"), default=0)
    choice_id = models.IntegerField(_("choice"), default=0)
    special = models.CharField(_("special answer"), max_length=10, blank=True)
    # The number answered, written without trailing zeros ("" for none).
    value = models.CharField(_("number"), max_length=100, blank=True)
    texted = models.BooleanField(_("text given"), default=False)
    other_question_id = models.IntegerField(_("other question"), default=0)
    other_choice_id = models.IntegerField(_("other choice"), default=0)
    n = models.BigIntegerField(_("count"), default=0)

    KEY = (
        "version_id",
        "status",
        "kind",
        "question_id",
        "choice_id",
        "special",
        "value",
        "texted",
        "other_question_id",
        "other_choice_id",
    )

    class Meta:
        verbose_name = _("kept count")
        verbose_name_plural = _("kept counts")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "version",
                    "status",
                    "kind",
                    "question_id",
                    "choice_id",
                    "special",
                    "value",
                    "texted",
                    "other_question_id",
                    "other_choice_id",
                ],
                name="reports_tally_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version_id} {self.status} {self.kind} {self.question_id}: {self.n}"


class Indicator(models.Model):
    """A node of the indicator tree the branch's satisfaction is measured on: level one
    (satisfaction, loyalty), level two (network, business…) and level three, the items the
    questions of any questionnaire version count as (IndicatorQuestion)."""

    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent indicator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    level = models.PositiveSmallIntegerField(
        _("level"), choices=[(1, _("Level one")), (2, _("Level two")), (3, _("Level three"))]
    )
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(_("position"), default=0)
    target = models.DecimalField(
        _("target (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["level", "position", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level=1, parent__isnull=True)
                | Q(level__in=[2, 3], parent__isnull=False),
                name="reports_indicator_level_parent",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the reader's language for the installed tree; as typed otherwise."""
        from reports.indicators import indicator_label

        return indicator_label(self.name)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.level == 1 and self.parent_id:
            raise ValidationError({"parent": _("A level-one indicator has no parent.")})
        if self.level in (2, 3):
            if self.parent is None:
                raise ValidationError({"parent": _("Choose the indicator one level up.")})
            if self.parent.level != self.level - 1:
                raise ValidationError(
                    {"parent": _("The parent must be an indicator one level up.")}
                )


class IndicatorQuestion(models.Model):
    """A question that counts as a level-three indicator. Its top two boxes are its first
    two choices (a scale written best first, as the presets are), or its last two when the
    scale runs from worst to best."""

    indicator = models.ForeignKey(
        Indicator,
        verbose_name=_("indicator"),
        on_delete=models.CASCADE,
        related_name="questions",
        limit_choices_to={"level": 3},
    )
    question = models.OneToOneField(
        "surveys.Question",
        verbose_name=_("question"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    best_first = models.BooleanField(
        _("best answer first"),
        default=True,
        help_text=_("Untick when the scale runs from the worst answer to the best."),
    )

    class Meta:
        verbose_name = _("question counted as an indicator")
        verbose_name_plural = _("questions counted as indicators")

    def __str__(self) -> str:
        return f"{self.question_id} → {self.indicator}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.indicator_id and self.indicator.level != 3:
            raise ValidationError({"indicator": _("Only a level-three indicator has questions.")})
        if self.question_id and self.question.type != "scale":
            raise ValidationError({"question": _("Only a rating scale can count as an indicator.")})


class CompetitorScore(models.Model):
    """A competitor's score (%) on an indicator in a month, as the survey firm reported it."""

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE, related_name="+"
    )
    competitor = models.CharField(_("competitor"), max_length=100)
    month = models.DateField(_("month"), help_text=_("Any day of the month."))
    percent = models.DecimalField(
        _("score (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )

    class Meta:
        verbose_name = _("competitor's score")
        verbose_name_plural = _("competitors' scores")
        ordering = ["-month", "indicator", "competitor"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "competitor", "month"], name="reports_competitor_key"
            ),
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="reports_competitor_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.competitor} {self.month:%Y-%m} {self.percent}%"

    def save(self, *args, **kwargs):
        self.month = self.month.replace(day=1)
        super().save(*args, **kwargs)


class MonthlyCount(models.Model):
    """A kept count of one month's completed interviews of the campaigns: per level-three
    indicator (its id; 0 for the interviews themselves), brand, region, kind of campaign and
    campaign, the top-two answers and the valid answers (for indicator 0: interviews in
    both). Built per month by reports.indicators.monthly_rebuild."""

    month = models.DateField(_("month"))
    indicator_id = models.IntegerField(_("indicator"))
    brand = models.CharField(_("brand"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    kind = models.CharField(_("kind of campaign"), max_length=30)
    campaign_id = models.IntegerField(_("campaign"))
    top_two = models.BigIntegerField(_("top two"), default=0)
    valid = models.BigIntegerField(_("valid"), default=0)

    class Meta:
        verbose_name = _("monthly kept count")
        verbose_name_plural = _("monthly kept counts")
        indexes = [models.Index(fields=["month", "indicator_id"], name="reports_monthly_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.indicator_id} {self.brand}: {self.top_two}/{self.valid}"


class MonthlyBuild(models.Model):
    """When a month's kept counts were last built (their freshness)."""

    month = models.DateField(_("month"), primary_key=True)
    built_at = models.DateTimeField(_("built at"))

    class Meta:
        verbose_name = _("built month")
        verbose_name_plural = _("built months")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"


class MonthlyReport(models.Model):
    """The monthly report on the satisfaction index: its figures as they stood when built,
    so earlier months stay as they were sent; the text is drafted from them in the reader's
    language."""

    month = models.DateField(_("month"), unique=True)
    figures = models.JSONField(_("figures"), default=dict)
    built_at = models.DateTimeField(_("built at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"


class ReportSubscription(models.Model):
    """A leader who receives the monthly report by e-mail."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )

    class Meta:
        verbose_name = _("monthly report subscriber")
        verbose_name_plural = _("monthly report subscribers")

    def __str__(self) -> str:
        return str(self.user)


class ComputedStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Computing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ComputedResults(models.Model):
    """The figures of a results page that the kept counts cannot give (filters that narrow
    the interviews, a campaign's own interviews) over many interviews: computed by a task,
    shown with the time they were computed, and computed again once they are older than
    WAIHU_RESULTS_FRESH_SECONDS. `key` names the filters and the cross-tab asked for."""

    version = models.ForeignKey(
        "surveys.QuestionnaireVersion",
        verbose_name=_("questionnaire version"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    work_order = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("work order"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    key = models.CharField(_("key"), max_length=64)
    options = models.JSONField(_("options"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ComputedStatus.choices, default=ComputedStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    error = models.TextField(_("error"), blank=True)
    requested_at = models.DateTimeField(_("requested at"), null=True, blank=True)
    # The last figures computed (kept while they are computed again) and when.
    figures = models.BinaryField(_("figures"), null=True, blank=True, editable=False)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    seconds = models.FloatField(_("seconds taken"), null=True, blank=True)

    class Meta:
        verbose_name = _("computed results")
        verbose_name_plural = _("computed results")
        constraints = [
            models.UniqueConstraint(
                fields=["version", "key"],
                condition=Q(work_order__isnull=True),
                name="reports_computed_version_key",
            ),
            models.UniqueConstraint(
                fields=["work_order", "key"],
                condition=Q(work_order__isnull=False),
                name="reports_computed_order_key",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ComputedStatus.values), name="reports_computed_status"
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="reports_computed_progress"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version_id} {self.key[:8]} {self.status}"
