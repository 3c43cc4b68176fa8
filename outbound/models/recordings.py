"""Call recordings the carrier reported. Only the recording's SID is kept, never the address
a callback gave: the audio is fetched from the carrier by SID with the account's
credentials (see telephony.recording_media)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Recording(models.Model):
    class Status(models.TextChoices):
        """Twilio's recording statuses that a recording status callback reports."""

        IN_PROGRESS = "in-progress", _("Being recorded")
        COMPLETED = "completed", _("Ready")
        ABSENT = "absent", _("Nothing recorded")
        FAILED = "failed", _("Failed")
        # Deleted at the carrier at the end of retention: no callback brings it back.
        DELETED = "deleted", _("Removed at the end of retention")

    # A status only moves forward: a late "in-progress" never hides a finished recording.
    RANK = {"in-progress": 0, "completed": 1, "absent": 1, "failed": 1, "deleted": 2}
    # What a recording status callback may report ("deleted" is ours alone).
    CALLBACK_STATUSES = ("in-progress", "completed", "absent", "failed")

    attempt = models.ForeignKey(
        "outbound.CallAttempt",
        verbose_name=_("call attempt"),
        on_delete=models.PROTECT,
        related_name="recordings",
    )
    sid = models.CharField(_("recording SID"), max_length=34, unique=True)
    account_sid = models.CharField(_("account SID"), max_length=34)
    # The call the carrier says was recorded: the attempt's own call, or the agent's leg
    # when the agent's <Dial> recorded the conversation (Twilio names the parent leg).
    call_sid = models.CharField(_("call SID"), max_length=64)
    # The agent on the call when the recording was reported: they may hear it later.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    duration = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    channels = models.PositiveSmallIntegerField(_("channels"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=40, blank=True)
    error_code = models.CharField(_("error code"), max_length=10, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")
        ordering = ["attempt", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["in-progress", "completed", "absent", "failed", "deleted"]),
                name="recording_status",
            ),
        ]
        indexes = [models.Index(fields=["agent", "status"], name="recording_agent_status")]

    def __str__(self) -> str:
        return self.sid

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.COMPLETED
