"""Generic approval chains. This app knows nothing about what is being approved: a request
points at its subject through a generic relation and higher apps react to its signals."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Chain(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(_("default chain"), default=False)

    class Meta:
        verbose_name = _("approval chain")
        verbose_name_plural = _("approval chains")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_chain"
            )
        ]

    def __str__(self) -> str:
        return self.name


class StepQuerySet(models.QuerySet):
    def in_chain(self):
        """The steps a request can still reach: not removed from their chain."""
        return self.filter(removed_at__isnull=True)


class Step(models.Model):
    """One step of a chain. `position` orders the steps of a chain (1, 2, 3...); requests
    point at their current step by key, never by position, so renumbering moves no request.
    A removed step that the history mentions stays in the table with `removed_at` set, out
    of the chain, so every decision keeps its step."""

    class Kind(models.TextChoices):
        APPROVE = "approve", _("Approve")
        ASSIGN = "assign", _("Assign the work")

    class Actor(models.TextChoices):
        GROUP = "group", _("Members of a group")
        DEPARTMENT_LEADER = "department_leader", _("Leader of the requester's department")

    chain = models.ForeignKey(
        Chain, verbose_name=_("chain"), on_delete=models.CASCADE, related_name="steps"
    )
    position = models.PositiveSmallIntegerField(_("position"))
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.APPROVE)
    actor = models.CharField(_("who acts"), max_length=30, choices=Actor.choices)
    group = models.ForeignKey(
        Group, verbose_name=_("group"), on_delete=models.PROTECT, null=True, blank=True
    )
    time_limit_hours = models.DecimalField(
        _("time limit (working hours)"), max_digits=6, decimal_places=1, default=8
    )
    comment_required = models.BooleanField(_("comment required to approve"), default=False)
    removed_at = models.DateTimeField(_("removed from the chain"), null=True, blank=True)

    objects = StepQuerySet.as_manager()

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["chain", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["chain", "position"],
                condition=Q(removed_at__isnull=True),
                name="step_position_unique",
            ),
            models.CheckConstraint(
                condition=(Q(actor="group") & Q(group__isnull=False))
                | (Q(actor="department_leader") & Q(group__isnull=True)),
                name="step_actor_has_group_iff_group_actor",
            ),
            models.CheckConstraint(condition=Q(time_limit_hours__gt=0), name="step_limit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"

    def clean(self) -> None:
        if self.actor == self.Actor.GROUP and self.group_id is None:
            raise ValidationError({"group": _("Choose the group whose members act on this step.")})
        if self.actor == self.Actor.DEPARTMENT_LEADER and self.group_id is not None:
            raise ValidationError(
                {"group": _("Leave the group empty: the requester's department leader acts.")}
            )


class HolidayQuerySet(models.QuerySet):
    def official(self):
        return self.filter(source=Holiday.Source.OFFICIAL)

    def local(self):
        return self.filter(source=Holiday.Source.LOCAL)


class Holiday(models.Model):
    """A day off on a working day, or a working day on a weekend (a make-up day). Official
    days come from China's calendar as published (filled by `calendar_official_fill`, never
    typed); local days are the centre's own, entered in the admin. A date may have one of
    each: the local one is in force, and the official one returns if it is removed."""

    class Source(models.TextChoices):
        OFFICIAL = "official", _("Official")
        LOCAL = "local", _("Local")

    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100)
    is_working_day = models.BooleanField(
        _("working day"),
        default=False,
        help_text=_("Tick for a weekend day that is worked to make up for a holiday."),
    )
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.LOCAL, editable=False
    )

    objects = HolidayQuerySet.as_manager()

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        ordering = ["date", "source"]
        constraints = [
            models.UniqueConstraint(fields=["date", "source"], name="holiday_one_per_source"),
            models.CheckConstraint(
                condition=Q(source__in=["official", "local"]), name="holiday_source_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class ApprovalRequest(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_PROGRESS = "in_progress", _("In approval")
        RETURNED = "returned", _("Returned for changes")
        REJECTED = "rejected", _("Rejected")
        APPROVED = "approved", _("Approved")

    chain = models.ForeignKey(Chain, verbose_name=_("chain"), on_delete=models.PROTECT)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    title = models.CharField(_("title"), max_length=200)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requester"),
        on_delete=models.PROTECT,
        related_name="approval_requests",
    )
    department = models.ForeignKey(
        "accounts.Department", verbose_name=_("department"), on_delete=models.PROTECT
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    current_step = models.ForeignKey(
        Step, verbose_name=_("current step"), on_delete=models.PROTECT, null=True, blank=True
    )
    step_started_at = models.DateTimeField(_("step started"), null=True, blank=True)
    step_due_at = models.DateTimeField(_("step due"), null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(_("first submitted"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id"], name="one_request_per_subject"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["in_progress", "returned"])
                | Q(current_step__isnull=False),
                name="request_waiting_has_step",
            ),
        ]
        indexes = [models.Index(fields=["status", "current_step"], name="request_inbox_idx")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return self.subject.get_absolute_url()

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.RETURNED)

    def is_overdue(self, now) -> bool:
        return (
            self.status == self.Status.IN_PROGRESS
            and self.step_due_at is not None
            and self.step_due_at < now
        )


class Decision(models.Model):
    """One entry of the append-only history of a request."""

    class Action(models.TextChoices):
        SUBMIT = "submit", _("Submitted")
        RESUBMIT = "resubmit", _("Resubmitted")
        APPROVE = "approve", _("Approved")
        ASSIGN = "assign", _("Assigned")
        RETURN = "return", _("Returned for changes")
        REJECT = "reject", _("Rejected")

    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="decisions")
    step = models.ForeignKey(Step, on_delete=models.PROTECT, null=True, blank=True)
    step_name = models.CharField(_("step"), max_length=100, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT
    )
    action = models.CharField(_("decision"), max_length=20, choices=Action.choices)
    comment = models.TextField(_("comment"), blank=True)
    step_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.step_name}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError(_("The approval history cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("The approval history cannot be deleted."))

    @property
    def took(self):
        if self.step_started_at is None:
            return None
        return self.created_at - self.step_started_at
