"""A campaign's contacts, the import jobs that bring them in, and the lists of numbers that
must never be called (do-not-call and the red list of key customers)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import ExtractDay, ExtractMonth, ExtractYear
from django.db.models.lookups import LessThanOrEqual
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

PHONE_MAX_LENGTH = 20
FIELD_MAX_LENGTH = 100


class Contact(models.Model):
    """One number to call in one campaign; the number is in E.164 and unique per campaign."""

    # Looked up through the (campaign, phone) unique index; one index fewer to maintain
    # makes imports faster.
    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="contacts",
        db_index=False,
    )
    phone = models.CharField(_("phone"), max_length=PHONE_MAX_LENGTH)
    name = models.CharField(_("name"), max_length=FIELD_MAX_LENGTH, blank=True)
    brand = models.CharField(_("brand"), max_length=FIELD_MAX_LENGTH, blank=True)
    region = models.CharField(_("region"), max_length=FIELD_MAX_LENGTH, blank=True)
    segment = models.CharField(_("segment"), max_length=FIELD_MAX_LENGTH, blank=True)
    # Every column of the list that is not mapped to a field above, by its header.
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # The date by which a complaint callback must be done.
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    source_import = models.ForeignKey(
        "outbound.ContactImport",
        verbose_name=_("imported by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
    )
    # Set for a contact added to a campaign already started: it is not dialled while its
    # hold waits for the outbound administrator (outbound/contacts/acceptance.py).
    hold = models.ForeignKey(
        "outbound.ContactHold",
        verbose_name=_("held with"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
        db_index=False,
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "phone"], name="contact_phone_per_campaign")
        ]
        indexes = [
            models.Index(fields=["campaign", "deadline"], name="contact_campaign_deadline"),
            # Only the few contacts ever held: a declined hold's are found without a scan.
            models.Index(fields=["hold"], condition=Q(hold__isnull=False), name="contact_hold"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.phone}".strip()


class ContactImport(models.Model):
    """A contact list uploaded to a campaign and its import as a background job; the counts
    are written as the job runs so a page can show its progress."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (.xlsx)"

    class Status(models.TextChoices):
        READING = "reading", _("Reading the file")
        UPLOADED = "uploaded", _("Uploaded, columns to map")
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")

    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="contact_imports",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    file = models.FileField(_("file"), upload_to="contact_imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=1, blank=True)
    header = models.JSONField(_("columns"), default=list)
    # The first rows as text, kept so the mapping page need not read the file again.
    preview = models.JSONField(_("first rows"), default=list, blank=True)
    # Target field -> index of the file's column.
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    deadline_days = models.PositiveSmallIntegerField(
        _("days to call back after the feedback"), default=7
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.UPLOADED
    )
    error = models.TextField(_("error"), blank=True)
    # The row of the file the error is about, when it is about one.
    error_row = models.PositiveIntegerField(_("row at fault"), null=True, blank=True)
    # Written now and then while the import runs: a job whose heartbeat stops was left by
    # a worker that died, and is taken up again (attempts counts the runs).
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    progress = models.FloatField(_("progress"), default=0.0)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    duplicates_in_file = models.PositiveIntegerField(_("duplicates in the file"), default=0)
    duplicates_in_campaign = models.PositiveIntegerField(_("already in the campaign"), default=0)
    invalid = models.PositiveIntegerField(_("invalid"), default=0)
    excluded_dnc = models.PositiveIntegerField(_("on the do-not-call list"), default=0)
    excluded_red_list = models.PositiveIntegerField(_("on the red list"), default=0)
    # The first rejected rows as [row number, reason code, detail]: which row, and why
    # (a duplicate's detail is the row it repeats), without the rows' personal data.
    rejects_sample = models.JSONField(_("first rejected rows"), default=list, blank=True)
    rejects_file = models.FileField(
        _("rejected rows"), upload_to="contact_imports/rejected/%Y/%m/", blank=True
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The uploaded list and its rejected rows were deleted at the end of retention.
    files_removed_at = models.DateTimeField(
        _("files removed"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("contact import")
        verbose_name_plural = _("contact imports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="contact_import_progress"
            )
        ]
        indexes = [
            # The sweep looks for running jobs whose heartbeat stopped.
            models.Index(
                fields=["heartbeat_at"],
                condition=Q(status="running"),
                name="contact_import_running",
            )
        ]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("contacts:import_detail", args=[self.pk])

    @property
    def duplicates(self) -> int:
        return self.duplicates_in_file + self.duplicates_in_campaign

    @property
    def excluded(self) -> int:
        return self.excluded_dnc + self.excluded_red_list

    @property
    def rejected(self) -> int:
        return self.duplicates + self.invalid + self.excluded

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def rejects_pending(self) -> bool:
        """Finished with rejected rows whose workbook is still being made."""
        return (
            self.status == self.Status.DONE
            and self.rejected > 0
            and not self.rejects_file
            and self.files_removed_at is None
        )


class ContactHold(models.Model):
    """Contacts added to a campaign after the outbound administrator started it (an uploaded
    list or a batch pushed through the API), held as one: none of them is dialled, offered
    to an agent or called by the voice survey until an outbound administrator accepts
    them; declined, they are removed. Accepting a million contacts is one UPDATE of this
    row, since the dialer's queue leaves out the contacts of holds still waiting."""

    class Source(models.TextChoices):
        IMPORT = "import", _("Uploaded list")
        API = "api", _("API batch")

    class Status(models.TextChoices):
        HELD = "held", _("Waiting for the outbound administrator's acceptance")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="contact_holds",
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    contact_import = models.OneToOneField(
        ContactImport,
        verbose_name=_("contact import"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hold",
    )
    # The file's name, or the integration and the batch's idempotency key.
    label = models.CharField(_("added as"), max_length=255)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.HELD
    )
    # The contacts held; once declined, the contacts removed.
    contacts_count = models.PositiveIntegerField(_("contacts"), default=0)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("held contacts")
        verbose_name_plural = _("held contacts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["held", "accepted", "declined"]),
                name="contact_hold_status",
            ),
            models.CheckConstraint(
                condition=Q(status="held") | Q(decided_at__isnull=False),
                name="contact_hold_decided_at",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "status"], name="contact_hold_campaign")]

    def __str__(self) -> str:
        return self.label

    @property
    def is_held(self) -> bool:
        return self.status == self.Status.HELD


class ExclusionQuerySet(models.QuerySet):
    def active(self):
        return self.filter(removed_at__isnull=True)


class DoNotCallEntry(models.Model):
    """A number that must not be called: everywhere, or in one campaign only."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by hand")
        UPLOAD = "upload", _("Uploaded list")
        CALL = "call", _("Asked during a call")

    phone = models.CharField(_("phone"), max_length=PHONE_MAX_LENGTH)
    campaign = models.ForeignKey(
        "outbound.WorkOrder",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="do_not_call_entries",
        help_text=_("Leave empty to block the number in every campaign."),
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("removed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = ExclusionQuerySet.as_manager()

    class Meta:
        verbose_name = _("do-not-call entry")
        verbose_name_plural = _("do-not-call list")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone"],
                condition=Q(campaign__isnull=True, removed_at__isnull=True),
                name="dnc_active_global_phone",
            ),
            models.UniqueConstraint(
                fields=["phone", "campaign"],
                condition=Q(campaign__isnull=False, removed_at__isnull=True),
                name="dnc_active_campaign_phone",
            ),
        ]
        indexes = [
            models.Index(fields=["phone"], name="dnc_phone"),
            # The list's default order, newest first, read from the index a page at a time.
            models.Index(fields=["created_at", "id"], name="dnc_created"),
        ]

    def __str__(self) -> str:
        return self.phone


# One year at most: (year, month, day) of the end is no later than the start's a year on.
def _date_key(field: str):
    return ExtractYear(field) * 10000 + ExtractMonth(field) * 100 + ExtractDay(field)


class RedListEntry(models.Model):
    """A key customer who must not be disturbed, for a period of at most one year."""

    phone = models.CharField(_("phone"), max_length=PHONE_MAX_LENGTH)
    customer_name = models.CharField(_("customer"), max_length=FIELD_MAX_LENGTH, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("removed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = ExclusionQuerySet.as_manager()

    class Meta:
        verbose_name = _("red-list entry")
        verbose_name_plural = _("red list")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="red_list_dates_ordered"
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(_date_key("ends_on"), _date_key("starts_on") + 10000),
                name="red_list_at_most_one_year",
            ),
        ]
        indexes = [
            models.Index(fields=["phone"], name="red_list_phone"),
            models.Index(fields=["created_at", "id"], name="red_list_created"),
        ]

    def __str__(self) -> str:
        return self.phone
