import re

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from approvals.models import ApprovalRequest

# An order's number as people write it: WH-000123, wh123 or plain 123.
_NUMBER = re.compile(r"\s*(?:WH-?)?0*(\d{1,12})\s*", re.IGNORECASE)


class WorkOrder(models.Model):
    """An outbound-calling project as the requester files it (工单); once approved it runs
    as a campaign."""

    NUMBER_PREFIX = "WH-"

    class Kind(models.TextChoices):
        SATISFACTION = "satisfaction", _("Satisfaction survey")
        COMPLAINT_CALLBACK = "complaint_callback", _("Complaint callback")
        SERVICE_CALLBACK = "service_callback", _("Service callback")
        MARKETING = "marketing", _("Marketing")
        NOTIFICATION = "notification", _("Notification")

    class Mode(models.TextChoices):
        AGENTS = "agents", _("Call agents")
        VOICE = "voice", _("Automated voice survey")

    class RunStatus(models.TextChoices):
        NOT_READY = "not_ready", _("Not approved yet")
        READY = "ready", _("Approved, ready to run")

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    background = models.TextField(_("background"))
    purpose = models.TextField(_("purpose"))
    target_description = models.TextField(_("target customers"))
    expected_contacts = models.PositiveIntegerField(_("expected number of contacts"))
    desired_start = models.DateField(_("desired start date"))
    desired_end = models.DateField(_("desired end date"))
    calling_hours_start = models.TimeField(_("calling from"), default="09:00")
    calling_hours_end = models.TimeField(_("calling until"), default="20:00")
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices, default=Mode.AGENTS)
    # A published, frozen version: every answer recorded for the order carries it.
    questionnaire = models.ForeignKey(
        "surveys.QuestionnaireVersion",
        verbose_name=_("questionnaire"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="work_orders",
        limit_choices_to={"status": "published"},
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requester"),
        on_delete=models.PROTECT,
        related_name="work_orders",
    )
    department = models.ForeignKey(
        "accounts.Department", verbose_name=_("department"), on_delete=models.PROTECT
    )
    # Set by the outbound administrator at the assignment step.
    team = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agents"),
        blank=True,
        related_name="assigned_orders",
    )
    planned_start = models.DateField(_("planned start"), null=True, blank=True)
    planned_end = models.DateField(_("planned end"), null=True, blank=True)
    daily_volume = models.PositiveIntegerField(_("calls per day"), null=True, blank=True)
    run_status = models.CharField(
        _("run status"), max_length=20, choices=RunStatus.choices, default=RunStatus.NOT_READY
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Set once the end of retention has removed the campaign's files and anonymised its
    # contacts (retention/services.py); never purged twice.
    purged_at = models.DateTimeField(
        _("personal data removed"), null=True, blank=True, editable=False
    )
    approval_requests = GenericRelation(
        ApprovalRequest, content_type_field="subject_type", object_id_field="subject_id"
    )

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(desired_end__gte=F("desired_start")), name="order_desired_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(calling_hours_end__gt=F("calling_hours_start")),
                name="order_calling_hours_ordered",
            ),
            models.CheckConstraint(
                condition=Q(planned_start__isnull=True)
                | Q(planned_end__isnull=True)
                | Q(planned_end__gte=F("planned_start")),
                name="order_planned_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(expected_contacts__gt=0), name="order_contacts_positive"
            ),
        ]
        # The order list's default order, newest first, read from the index a page at a time.
        indexes = [models.Index(fields=["created_at", "id"], name="order_created")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("outbound:order_detail", args=[self.pk])

    @property
    def number(self) -> str:
        """The number people quote for the order: its key, as WH-000123."""
        return f"{self.NUMBER_PREFIX}{self.pk:06d}" if self.pk else ""

    @staticmethod
    def pk_from_number(text: str) -> int | None:
        """The key of the order numbered `text` (WH-000123, wh123 or 123), or None."""
        match = _NUMBER.fullmatch(text or "")
        return int(match.group(1)) if match and int(match.group(1)) else None

    @property
    def approval(self) -> ApprovalRequest:
        """The order's approval request (prefetched by the selectors)."""
        cached = getattr(self, "_prefetched_objects_cache", {}).get("approval_requests")
        if cached is not None:
            return cached[0] if cached else None
        return self.approval_requests.select_related("current_step").first()
