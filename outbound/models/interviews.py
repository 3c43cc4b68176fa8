"""Interviews: one conversation with one contact through the questionnaire, by an agent at
the console or by the automated voice survey. An interview stays open while it can still be
resumed (a dropped call, a callback); at most one is open per contact."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Interview(models.Model):
    class Channel(models.TextChoices):
        AGENT = "agent", _("Call agent")
        VOICE = "voice", _("Automated voice survey")

    class Disposition(models.TextChoices):
        COMPLETED = "completed", _("Completed")
        PARTIAL = "partial", _("Partial (call dropped)")
        REFUSED = "refused", _("Refused")
        CALLBACK = "callback", _("Call back")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")
        DO_NOT_CALL = "do_not_call", _("Do not call again")
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        MACHINE = "machine", _("Answering machine")

    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="interviews",
    )
    contact = models.ForeignKey(
        "outbound.Contact",
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        related_name="interviews",
    )
    response = models.OneToOneField(
        "surveys.Response",
        verbose_name=_("response"),
        on_delete=models.PROTECT,
        related_name="interview",
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.AGENT
    )
    # The agent working it now (or who worked it last).
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interviews",
    )
    attempt = models.ForeignKey(
        "outbound.CallAttempt",
        verbose_name=_("call attempt"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interviews",
    )
    # The leg that rings the agent's own phone before the customer is dialled.
    agent_call_sid = models.CharField(_("agent's call SID"), max_length=64, blank=True)
    agent_call_status = models.CharField(_("agent's call status"), max_length=20, blank=True)
    disposition = models.CharField(
        _("disposition"), max_length=20, choices=Disposition.choices, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    callback_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    # Set when the callback is promised by one agent; empty means anyone may call back.
    callback_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("call back by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The contact is held for `agent` until then; an abandoned hold lapses.
    reserved_until = models.DateTimeField(_("reserved until"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("interview")
        verbose_name_plural = _("interviews")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=Q(closed_at__isnull=True),
                name="interview_one_open_per_contact",
            ),
            models.CheckConstraint(
                condition=Q(
                    disposition__in=[
                        "",
                        "completed",
                        "partial",
                        "refused",
                        "callback",
                        "wrong_number",
                        "not_eligible",
                        "do_not_call",
                        "no_answer",
                        "busy",
                        "machine",
                    ]
                ),
                name="interview_disposition",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | ~Q(disposition=""),
                name="interview_closed_has_disposition",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["agent", "voice"]), name="interview_channel"
            ),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "agent"],
                condition=Q(closed_at__isnull=True),
                name="interview_open_by_agent",
            ),
            models.Index(fields=["campaign", "closed_at"], name="interview_campaign_closed"),
            # The supervisor's completes of the last hour, whatever the campaign.
            models.Index(
                fields=["closed_at"],
                condition=Q(disposition="completed"),
                name="interview_completed_closed",
            ),
            # The results index counts each campaign's completed interviews from it alone.
            models.Index(fields=["campaign", "disposition"], name="interview_campaign_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} ({self.get_channel_display()})"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class SpokenAnswer(models.Model):
    """An open question answered aloud on the automated voice survey: the recording of what
    the caller said (<Record>) or what speech recognition heard (<Gather input="speech">).
    The response's answer holds the transcript as its text (empty when there is none); the
    recording is kept here."""

    class Source(models.TextChoices):
        RECORDING = "recording", _("Recording")
        SPEECH = "speech", _("Speech recognition")

    interview = models.ForeignKey(
        Interview,
        verbose_name=_("interview"),
        on_delete=models.PROTECT,
        related_name="spoken_answers",
    )
    question = models.ForeignKey(
        "surveys.Question", verbose_name=_("question"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    recording_sid = models.CharField(_("recording SID"), max_length=64, blank=True)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)
    recording_duration = models.PositiveIntegerField(
        _("recording length (seconds)"), null=True, blank=True
    )
    # Twilio's RecordingStatus from the recording status callback (completed, absent, ...).
    recording_status = models.CharField(_("recording status"), max_length=20, blank=True)
    transcript = models.TextField(_("transcript"), blank=True)
    confidence = models.FloatField(_("recognition confidence"), null=True, blank=True)
    # The key that ended the recording, or "hangup".
    finished_by = models.CharField(_("ended by"), max_length=10, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("spoken answer")
        verbose_name_plural = _("spoken answers")
        ordering = ["interview", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interview", "question"], name="spoken_answer_once_per_question"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["recording", "speech"]), name="spoken_answer_source"
            ),
        ]
        indexes = [models.Index(fields=["recording_sid"], name="spoken_answer_recording")]

    def __str__(self) -> str:
        return f"{self.interview_id}/{self.question_id}"
