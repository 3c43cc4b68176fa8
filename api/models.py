"""The operator's own systems as Waihu knows them: integrations with their tokens and
reach, the calls they made, the contact batches they pushed (kept for idempotency), and the
subscriptions to outgoing events with every delivery."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    ORDERS = "orders", _("File work orders")
    CONTACTS = "contacts", _("Push contacts")
    RESULTS = "results", _("Read results")
    SUBSCRIPTIONS = "subscriptions", _("Manage subscriptions")
    # Without it, results and events carry customers' numbers masked (138****8000).
    PHONES = "phones", _("Read whole phone numbers")


class EventType(models.TextChoices):
    ORDER_APPROVED = "order.approved", _("Order approved")
    ORDER_RETURNED = "order.returned", _("Order returned")
    ORDER_REJECTED = "order.rejected", _("Order rejected")
    CAMPAIGN_STARTED = "campaign.started", _("Campaign started")
    CAMPAIGN_FINISHED = "campaign.finished", _("Campaign finished")
    INTERVIEW_COMPLETED = "interview.completed", _("Interview completed")
    DISSATISFACTION = "interview.dissatisfied", _("Dissatisfied customer")
    CONTACT_OPTED_OUT = "contact.opted_out", _("Contact opted out")


class Integration(models.Model):
    """Another system allowed to call the API: what it may do (scopes), which departments'
    and campaigns' work it may touch, and for whom it files orders. Only a hash of its token
    is kept; the token itself is shown once."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acts for requester"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Orders filed through the API are filed in this user's name."),
    )
    departments = models.ManyToManyField(
        "accounts.Department", verbose_name=_("departments"), blank=True, related_name="+"
    )
    campaigns = models.ManyToManyField(
        "outbound.WorkOrder", verbose_name=_("campaigns"), blank=True, related_name="+"
    )
    rate_limit_per_minute = models.PositiveIntegerField(_("requests per minute"), default=600)
    token_prefix = models.CharField(_("token prefix"), max_length=16, blank=True, db_index=True)
    token_hash = models.CharField(_("token hash"), max_length=64, blank=True)
    token_issued_at = models.DateTimeField(_("token issued"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and bool(self.token_hash)


class ContactBatch(models.Model):
    """A batch of contacts pushed to a campaign, kept under its idempotency key: the same
    key again returns this outcome and changes nothing."""

    integration = models.ForeignKey(
        Integration, verbose_name=_("integration"), on_delete=models.PROTECT, related_name="+"
    )
    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    digest = models.CharField(_("content digest"), max_length=64)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    outcome = models.JSONField(_("outcome"), default=dict)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact batch")
        verbose_name_plural = _("contact batches")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "campaign", "idempotency_key"],
                name="api_contact_batch_once",
            )
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class Subscription(models.Model):
    """Where to send which events. One made by an integration hears only about the
    campaigns that integration may touch."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("signing secret"), max_length=64)
    integration = models.ForeignKey(
        Integration,
        verbose_name=_("integration"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("event subscription")
        verbose_name_plural = _("event subscriptions")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    """Something that happened, as sent to the subscribers; its id lets a receiver drop a
    delivery it has already had."""

    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=40, choices=EventType.choices)
    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    data = models.JSONField(_("data"), default=dict)
    occurred_at = models.DateTimeField(_("occurred"))

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Delivery(models.Model):
    """One event on its way to one subscription, tried until the receiver answers 2xx or a
    day has passed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Given up")

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.PROTECT, related_name="deliveries"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="api_delivery_once"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed"]),
                name="api_delivery_status",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="api_delivery_due",
            ),
            models.Index(fields=["subscription", "created_at"], name="api_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id}"


class DissatisfiedChoice(models.Model):
    """An answer the questionnaire counts as 'dissatisfied' (the bottom two of a
    satisfaction scale, say): an interview that gives it raises the dissatisfaction event."""

    choice = models.OneToOneField(
        "surveys.Choice",
        verbose_name=_("choice"),
        on_delete=models.CASCADE,
        related_name="+",
    )

    class Meta:
        verbose_name = _("dissatisfied answer")
        verbose_name_plural = _("dissatisfied answers")

    def __str__(self) -> str:
        return str(self.choice_id)
