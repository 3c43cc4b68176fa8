"""How a campaign dials: its settings and run state, each contact's place in the dialing
queue, the call attempts with their status history, and the calls the sandbox plays out."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

WEEKDAYS = range(1, 8)  # ISO numbering: 1 is Monday.


def default_weekly_hours() -> dict:
    return {str(day): ["09:00", "20:00"] for day in WEEKDAYS}


class Outcome(models.TextChoices):
    """What an attempt came to; the retry policy is keyed on it."""

    ANSWERED = "answered", _("Answered")
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no_answer", _("No answer")
    FAILED = "failed", _("Failed")
    MACHINE = "machine", _("Answering machine")
    INVALID = "invalid", _("Invalid number")
    CANCELED = "canceled", _("Canceled")
    LOST = "lost", _("Lost (no final status)")
    # The call never reached the carrier (its task died or failed first): it costs the
    # contact no attempt.
    NOT_PLACED = "not_placed", _("Not placed")


class CampaignSettings(models.Model):
    """A campaign's dialing rules and its run state (started, paused, stopped)."""

    class State(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        STOPPED = "stopped", _("Stopped")

    class PauseReason(models.TextChoices):
        """Why the carrier account refused a call, pausing the campaign by itself."""

        GEO_PERMISSION = "geo_permission", _("Geographic permissions")
        BLOCKED = "blocked", _("Call blocked by Twilio")
        CALLER_ID = "caller_id", _("Caller ID not owned or verified")
        AUTHENTICATION = "authentication", _("Credentials refused")
        ACCOUNT_INACTIVE = "account_inactive", _("Account suspended or inactive")

    class AgentDialing(models.TextChoices):
        """How an agent campaign gives agents their next contact."""

        PREVIEW = "preview", _("Preview: the agent reads the contact, then dials")
        PROGRESSIVE = "progressive", _("Progressive: the next contact is dialled by itself")

    campaign = models.OneToOneField(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="dialing",
    )
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.NOT_STARTED
    )
    # ISO weekday ("1" is Monday) -> ["HH:MM", "HH:MM"], or absent for no calls that day.
    weekly_hours = models.JSONField(_("calling hours per weekday"), default=default_weekly_hours)
    starts_on = models.DateField(_("first calling day"), null=True, blank=True)
    ends_on = models.DateField(_("last calling day"), null=True, blank=True)
    excluded_dates = models.JSONField(_("dates without calls"), default=list, blank=True)
    # Empty: as the campaign's kind has it (WAIHU_HOLIDAY_CALLING_KINDS).
    calls_on_holidays = models.BooleanField(
        _("call on public holidays"),
        null=True,
        blank=True,
        help_text=_(
            "Public holidays and the centre's days off come from the calendar; make-up "
            "working days are called as ordinary weekdays."
        ),
    )
    caller_id = models.CharField(
        _("caller ID"),
        max_length=20,
        blank=True,
        help_text=_("Leave empty to use the unified caller number."),
    )
    max_attempts = models.PositiveSmallIntegerField(_("attempts per contact"), default=3)
    retry_busy = models.BooleanField(_("retry when busy"), default=True)
    retry_busy_minutes = models.PositiveIntegerField(_("minutes before retrying busy"), default=30)
    retry_no_answer = models.BooleanField(_("retry when not answered"), default=True)
    retry_no_answer_minutes = models.PositiveIntegerField(
        _("minutes before retrying no answer"), default=120
    )
    retry_failed = models.BooleanField(_("retry when failed"), default=True)
    retry_failed_minutes = models.PositiveIntegerField(
        _("minutes before retrying a failed call"), default=60
    )
    retry_machine = models.BooleanField(_("retry after an answering machine"), default=False)
    retry_machine_minutes = models.PositiveIntegerField(
        _("minutes before retrying an answering machine"), default=240
    )
    calls_per_second = models.FloatField(_("calls per second"), default=1.0)
    max_concurrent = models.PositiveIntegerField(_("most calls at once"), default=20)
    machine_detection = models.BooleanField(_("detect answering machines"), default=False)
    machine_message = models.TextField(
        _("message for answering machines"),
        blank=True,
        help_text=_(
            "Said after the beep when an answering machine picks up; leave empty to hang up "
            "on machines. Needs answering machine detection."
        ),
    )
    record = models.BooleanField(_("record calls"), default=False)
    # Empty: the default voice of the questionnaire's language (WAIHU_VOICE_*).
    voice = models.CharField(
        _("voice"),
        max_length=60,
        blank=True,
        help_text=_("The text-to-speech voice that reads the questionnaire to customers."),
    )
    agent_dialing_mode = models.CharField(
        _("agents' dialling"),
        max_length=20,
        choices=AgentDialing.choices,
        default=AgentDialing.PREVIEW,
    )
    progressive_delay_seconds = models.PositiveSmallIntegerField(
        _("seconds before the next call"),
        default=3,
        validators=[MaxValueValidator(120)],
        help_text=_(
            "Progressive dialling: how long after an agent finishes a contact the next one "
            "is dialled, unless the agent pauses."
        ),
    )
    # Pacing: the moment up to which call slots have been handed out.
    paced_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when the carrier account refused a call and the campaign paused itself.
    paused_reason = models.CharField(
        _("paused because"), max_length=20, choices=PauseReason.choices, blank=True
    )
    paused_code = models.CharField(_("carrier error code"), max_length=10, blank=True)
    paused_detail = models.CharField(_("carrier's message"), max_length=255, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    state_changed_at = models.DateTimeField(_("state changed"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign settings")
        verbose_name_plural = _("campaign settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["not_started", "running", "paused", "stopped"]),
                name="campaign_settings_state",
            ),
            models.CheckConstraint(
                condition=Q(calls_per_second__gt=0), name="campaign_settings_cps_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1), name="campaign_settings_attempts_positive"
            ),
            models.CheckConstraint(
                condition=Q(agent_dialing_mode__in=["preview", "progressive"])
                & Q(progressive_delay_seconds__lte=120),
                name="campaign_settings_agent_dialing",
            ),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=F("starts_on")),
                name="campaign_settings_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return str(self.campaign_id)

    def clean(self):
        super().clean()
        if self.machine_message.strip() and not self.machine_detection:
            raise ValidationError(
                {
                    "machine_message": _(
                        "A message for answering machines needs answering machine detection."
                    )
                }
            )

    @property
    def detect_message_end(self) -> bool:
        """Detection waits for the end of a machine's greeting only when a message is to be
        left after the beep; a hang-up needs no more than the first guess."""
        return self.machine_detection and bool(self.machine_message.strip())

    # The fields retry_rule and the dialer's policy read.
    RETRY_FIELDS = (
        "max_attempts",
        "retry_busy",
        "retry_busy_minutes",
        "retry_no_answer",
        "retry_no_answer_minutes",
        "retry_failed",
        "retry_failed_minutes",
        "retry_machine",
        "retry_machine_minutes",
    )

    def retry_rule(self, outcome: str) -> tuple[bool, int]:
        """(retry?, minutes to wait) for an attempt's outcome."""
        rules = {
            Outcome.BUSY: (self.retry_busy, self.retry_busy_minutes),
            Outcome.NO_ANSWER: (self.retry_no_answer, self.retry_no_answer_minutes),
            Outcome.FAILED: (self.retry_failed, self.retry_failed_minutes),
            Outcome.CANCELED: (self.retry_failed, self.retry_failed_minutes),
            Outcome.LOST: (self.retry_failed, self.retry_failed_minutes),
            Outcome.MACHINE: (self.retry_machine, self.retry_machine_minutes),
        }
        return rules.get(outcome, (False, 0))

    def hours_on(self, weekday: int) -> tuple[datetime.time, datetime.time] | None:
        hours = (self.weekly_hours or {}).get(str(weekday))
        if not hours:
            return None
        return datetime.time.fromisoformat(hours[0]), datetime.time.fromisoformat(hours[1])


class DialState(models.Model):
    """A contact's place in its campaign's dialing queue."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be called")
        DIALING = "dialing", _("Call in progress")
        REACHED = "reached", _("Reached")
        FINISHED = "finished", _("No more attempts")
        INVALID = "invalid", _("Invalid number")
        EXCLUDED = "excluded", _("Excluded")

    FINAL = (Status.REACHED, Status.FINISHED, Status.INVALID, Status.EXCLUDED)

    contact = models.OneToOneField(
        "outbound.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="dial_state",
    )
    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="dial_states",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # Set by an agent or the customer's wish; wins over the retry policy.
    callback_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    last_outcome = models.CharField(
        _("last outcome"), max_length=20, choices=Outcome.choices, blank=True
    )
    excluded_reason = models.CharField(_("excluded because"), max_length=20, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("dialing state")
        verbose_name_plural = _("dialing states")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["pending", "dialing", "reached", "finished", "invalid", "excluded"]
                ),
                name="dial_state_status",
            ),
        ]
        indexes = [
            # The claim's ORDER BY next_attempt_at, contact: a batch enrolled at once shares
            # one next-attempt time, so the contact breaks the tie, and with it in the index
            # the claim reads the first rows in order instead of sorting every due contact.
            models.Index(
                fields=["campaign", "next_attempt_at", "contact"],
                condition=Q(status="pending"),
                name="dial_state_due_order",
            ),
            models.Index(fields=["campaign", "status"], name="dial_state_campaign_status"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.status}"


class CallAttempt(models.Model):
    """One call placed (or about to be placed) to one contact."""

    class Status(models.TextChoices):
        """Twilio's call statuses, plus `created` before the call is handed over."""

        CREATED = "created", _("Created")
        QUEUED = "queued", _("Queued")
        INITIATED = "initiated", _("Initiated")
        RINGING = "ringing", _("Ringing")
        IN_PROGRESS = "in-progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        BUSY = "busy", _("Busy")
        NO_ANSWER = "no-answer", _("No answer")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")
    # A status only ever moves forward along this order.
    RANK = {
        "created": 0,
        "queued": 1,
        "initiated": 2,
        "ringing": 3,
        "in-progress": 4,
        "completed": 5,
        "busy": 5,
        "no-answer": 5,
        "failed": 5,
        "canceled": 5,
    }

    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="call_attempts",
    )
    contact = models.ForeignKey(
        "outbound.Contact",
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        related_name="call_attempts",
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    to = models.CharField(_("to"), max_length=20)
    caller_id = models.CharField(_("from"), max_length=20)
    call_sid = models.CharField(_("call SID"), max_length=64, null=True, blank=True, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.CREATED
    )
    status_rank = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    duration = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    answered_by = models.CharField(_("answered by"), max_length=40, blank=True)
    error_code = models.CharField(_("error code"), max_length=10, blank=True)
    error_message = models.CharField(_("error"), max_length=255, blank=True)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    placed_at = models.DateTimeField(_("handed to the carrier"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # When the settling task should ask the carrier about a call that went quiet.
    settle_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "number"], name="attempt_number_per_contact"
            ),
            # A contact is never on two calls at once.
            models.UniqueConstraint(
                fields=["contact"],
                condition=Q(finished_at__isnull=True),
                name="attempt_one_open_per_contact",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | ~Q(outcome=""),
                name="attempt_finished_has_outcome",
            ),
        ]
        indexes = [
            models.Index(
                fields=["campaign"],
                condition=Q(finished_at__isnull=True),
                name="attempt_open_per_campaign",
            ),
            models.Index(
                fields=["settle_at"],
                condition=Q(finished_at__isnull=True),
                name="attempt_open_settle",
            ),
            models.Index(fields=["campaign", "outcome"], name="attempt_campaign_outcome"),
            models.Index(fields=["campaign", "finished_at"], name="attempt_campaign_finished"),
            # The campaign page's attempts, newest first, and its last minutes' calls.
            models.Index(fields=["campaign", "created_at", "id"], name="attempt_campaign_created"),
        ]

    def __str__(self) -> str:
        return f"{self.to} #{self.number}"

    @property
    def is_final(self) -> bool:
        return self.finished_at is not None


class CallEvent(models.Model):
    """A status reported for an attempt, kept in the order the carrier says it happened."""

    class Source(models.TextChoices):
        CALLBACK = "callback", _("Status callback")
        DIALER = "dialer", _("Dialer")
        SETTLE = "settle", _("Fetched from the carrier")

    attempt = models.ForeignKey(
        CallAttempt, verbose_name=_("attempt"), on_delete=models.CASCADE, related_name="events"
    )
    status = models.CharField(_("status"), max_length=20)
    sequence = models.IntegerField(_("sequence number"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("happened"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.CALLBACK
    )
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        ordering = ["attempt", "occurred_at", "id"]
        constraints = [
            # A repeated callback adds nothing.
            models.UniqueConstraint(fields=["attempt", "status"], name="call_event_once"),
        ]

    def __str__(self) -> str:
        return self.status


class CampaignCount(models.Model):
    """Part of a campaign's kept count of contacts, dialing states or attempt outcomes:
    the count of a (kind, item) is the sum of its rows. Written only by the database's
    triggers and outbound.dialer.counts, which explains why it stays exact."""

    # No constraint in the database: the triggers write rows while a deletion cascades
    # through a campaign's contacts, before the campaign itself goes.
    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    kind = models.CharField(max_length=10)
    item = models.CharField(max_length=20, blank=True)
    n = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["campaign", "kind", "item"], name="campaign_count_key")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind} {self.item}: {self.n}"


class AccountPacing(models.Model):
    """The carrier account's calls-per-second budget, shared by every campaign: call slots
    are handed out up to `paced_until`, one row per account, locked while claiming."""

    account_sid = models.CharField(max_length=34, primary_key=True)
    paced_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("account pacing")
        verbose_name_plural = _("account pacing")

    def __str__(self) -> str:
        return self.account_sid


class SandboxCallQueue(models.Model):
    """The sandbox account's own queue: calls start no faster than its calls per second."""

    account_sid = models.CharField(max_length=34, primary_key=True)
    next_start = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.account_sid


class SandboxCall(models.Model):
    """A call the sandbox accepted through its Twilio-compatible endpoint, or a <Dial>'s
    child call, and plays out."""

    sid = models.CharField(max_length=34, primary_key=True)
    account_sid = models.CharField(max_length=34)
    # A <Dial>'s child call names the call whose TwiML dialled it.
    parent_call_sid = models.CharField(max_length=34, blank=True, db_index=True)
    direction = models.CharField(max_length=20, default="outbound-api")
    to = models.CharField(max_length=40)
    from_number = models.CharField(max_length=40)
    url = models.URLField(max_length=500)
    method = models.CharField(max_length=10, default="POST")
    status_callback = models.URLField(max_length=500, blank=True)
    status_callback_events = models.JSONField(default=list)
    timeout = models.PositiveIntegerField(default=60)
    machine_detection = models.CharField(max_length=30, blank=True)
    record = models.BooleanField(default=False)
    status = models.CharField(max_length=20, default="queued")
    plan = models.CharField(max_length=20)
    answered_by = models.CharField(max_length=40, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True)
    # The SequenceNumber of the next status callback: those sent so far.
    sequence = models.PositiveIntegerField(default=0)
    # While the call waits on a <Dial>: its child's SID, the action and what follows it.
    pending_dial = models.JSONField(default=dict, blank=True)
    digits = models.CharField(max_length=100, blank=True)
    # The Twilio error or warning that ended the call's TwiML, such as 13511.
    error_code = models.CharField(max_length=10, blank=True)
    recording_status_callback = models.URLField(max_length=500, blank=True)
    recording_status_callback_events = models.JSONField(default=list, blank=True)
    # The SIDs of the call's recordings deleted through the API: no longer served.
    deleted_recordings = models.JSONField(default=list, blank=True)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    # Past the account's calls per second a call waits in the queue until this moment.
    queued_until = models.DateTimeField(null=True, blank=True)
    # The play-out's next step ("dial", "connect", "hang_up"; empty once nothing is left to
    # do) and when it is due: a call whose worker died is taken on from here by another,
    # as a carrier ends its calls whatever happens to its customer's workers. The serial
    # names the one task allowed to run the step, so a step is never played twice.
    next_step = models.CharField(max_length=10, blank=True)
    next_step_at = models.DateTimeField(null=True, blank=True)
    step_serial = models.PositiveIntegerField(default=0)
    # The end's callbacks have all been posted (a worker may die between the two).
    end_reported = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("sandbox call")
        verbose_name_plural = _("sandbox calls")
        ordering = ["-date_created"]
        indexes = [
            models.Index(
                fields=["next_step_at"],
                condition=~Q(next_step=""),
                name="sandbox_call_next_step",
            ),
        ]

    def __str__(self) -> str:
        return self.sid
