"""Agents at work: where each agent stands now (ready, ringing, talking, wrap-up, paused),
the append-only record of every state they were in and for how long, and the time they
took to read each part of the script. The transitions between the states are written down
in outbound/agent/states.py."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AgentState(models.TextChoices):
    OFFLINE = "offline", _("Not working")
    READY = "ready", pgettext_lazy("agent state", "Ready")
    PREVIEW = "preview", _("Previewing a contact")
    RINGING = "ringing", _("Ringing")
    TALKING = "talking", _("Talking")
    WRAP_UP = "wrap_up", _("Wrap-up")
    PAUSED = "paused", _("Paused")


class PauseReason(models.TextChoices):
    BREAK = "break", _("Break")
    TRAINING = "training", _("Training")
    AFTER_CALL_WORK = "after_call_work", _("After-call work")


STATE_VALUES = [value for value, _label in AgentState.choices]
REASON_VALUES = ["", *(value for value, _label in PauseReason.choices)]


class AgentSession(models.Model):
    """Where one agent stands now: the campaign they work, their state since when, the
    contact they hold, and a pause asked for during a call (taken when it is finished)."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="agent_session",
    )
    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=20, choices=AgentState.choices, default=AgentState.OFFLINE
    )
    reason = models.CharField(_("reason"), max_length=20, choices=PauseReason.choices, blank=True)
    since = models.DateTimeField(_("since"))
    interview = models.ForeignKey(
        "outbound.Interview",
        verbose_name=_("interview"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    pause_asked = models.CharField(
        _("pause asked for"), max_length=20, choices=PauseReason.choices, blank=True
    )
    # The change row of the current state, closed when the next state begins.
    change = models.ForeignKey(
        "outbound.AgentStateChange",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent session")
        verbose_name_plural = _("agent sessions")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=STATE_VALUES), name="agent_session_state"),
            models.CheckConstraint(
                condition=Q(reason__in=REASON_VALUES) & Q(pause_asked__in=REASON_VALUES),
                name="agent_session_reason",
            ),
            # A pause has its reason; no other state has one.
            models.CheckConstraint(
                condition=(Q(state="paused") & ~Q(reason="")) | (~Q(state="paused") & Q(reason="")),
                name="agent_session_paused_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.state}"


class AgentStateChange(models.Model):
    """One stretch of time an agent spent in one state. Rows are only ever added, and
    closed (ended_at, seconds) when the next state begins."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="agent_state_changes",
    )
    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    state = models.CharField(_("state"), max_length=20, choices=AgentState.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=PauseReason.choices, blank=True)
    event = models.CharField(_("event"), max_length=20)
    interview = models.ForeignKey(
        "outbound.Interview",
        verbose_name=_("interview"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    seconds = models.FloatField(_("seconds"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent state change")
        verbose_name_plural = _("agent state changes")
        ordering = ["agent", "started_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=STATE_VALUES), name="agent_state_change_state"
            ),
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(ended_at__isnull=True),
                name="agent_state_change_one_open",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="agent_state_change_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["started_at", "agent"], name="agent_state_change_day"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id}: {self.state} from {self.started_at}"


class ScriptReading(models.Model):
    """The time an agent took over one stretch of the script read to a customer: the
    opening with the first question, a question (with its answer options), or the
    closing; against the characters (Chinese) or words (English) it holds. The reading
    time leaves out the pause allowed for the customer's answer, as the questionnaire
    checker's duration estimate adds it."""

    class Part(models.TextChoices):
        OPENING = "opening", _("Greeting and transition")
        QUESTION = "question", _("Question")
        CLOSING = "closing", _("Closing")

    class Unit(models.TextChoices):
        CHARACTERS = "chars", _("characters")
        WORDS = "words", _("words")

    interview = models.ForeignKey(
        "outbound.Interview",
        verbose_name=_("interview"),
        on_delete=models.PROTECT,
        related_name="readings",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    question = models.ForeignKey(
        "surveys.Question",
        verbose_name=_("question"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    part = models.CharField(_("part"), max_length=10, choices=Part.choices)
    unit = models.CharField(_("unit"), max_length=5, choices=Unit.choices)
    units = models.FloatField(_("characters or words"))
    # As the console measured it: from the text shown (and the customer on the line) to
    # the answer saved.
    seconds = models.FloatField(_("seconds taken"))
    reading_seconds = models.FloatField(_("seconds reading"))
    recorded_at = models.DateTimeField(_("recorded"))

    class Meta:
        verbose_name = _("script reading")
        verbose_name_plural = _("script readings")
        ordering = ["interview", "recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(part__in=["opening", "question", "closing"]),
                name="script_reading_part",
            ),
            models.CheckConstraint(
                condition=Q(unit__in=["chars", "words"]), name="script_reading_unit"
            ),
            models.CheckConstraint(
                condition=Q(units__gte=0) & Q(seconds__gt=0) & Q(reading_seconds__gt=0),
                name="script_reading_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "recorded_at"], name="script_reading_agent_day"),
        ]

    def __str__(self) -> str:
        return f"{self.interview_id}: {self.part} {self.units:g} {self.unit}"
