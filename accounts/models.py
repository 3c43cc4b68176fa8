import json

from django.contrib.auth.models import AbstractUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Func, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role


class Department(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    leader = models.ForeignKey(
        "accounts.User",
        verbose_name=_("leader"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_departments",
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of one department; roles are the groups the user belongs to."""

    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    agent_no = models.CharField(_("agent number"), max_length=20, blank=True)
    phone = models.CharField(
        _("phone"), max_length=20, blank=True, help_text=_("The agent's own phone, in E.164.")
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=[("zh-hans", "简体中文"), ("en", "English")],
        default="zh-hans",
        help_text=_("The language of the e-mails this user receives."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def has_role(self, *roles: Role | str) -> bool:
        names = self._role_names()
        return any(str(role) in names for role in roles)

    def _role_names(self) -> frozenset[str]:
        cached = getattr(self, "_role_names_cache", None)
        if cached is None:
            cached = frozenset(self.groups.values_list("name", flat=True))
            self._role_names_cache = cached
        return cached


def user_shown_as(path: str = "") -> Func:
    """The database's spelling of str(user) for the user at `path` ("created_by__"): the
    display name, else the full name, else the login name; for lists read as values."""
    full = Trim(Concat(F(f"{path}first_name"), Value(" "), F(f"{path}last_name")))
    return Coalesce(
        NullIf(F(f"{path}display_name"), Value("")),
        NullIf(full, Value("")),
        F(f"{path}username"),
        output_field=models.CharField(),
    )


class AuditAction(models.TextChoices):
    EXPORT_DOWNLOAD = "export_download", _("Results workbook downloaded")
    REJECTS_DOWNLOAD = "rejects_download", _("Rejected contacts downloaded")
    QUESTIONNAIRE_EXPORT = "questionnaire_export", _("Questionnaire exported")
    CAMPAIGN_SETTINGS = "campaign_settings", _("Campaign settings changed")
    CAMPAIGN_START = "campaign_start", _("Campaign started")
    CAMPAIGN_PAUSE = "campaign_pause", _("Campaign paused")
    CAMPAIGN_RESUME = "campaign_resume", _("Campaign resumed")
    CAMPAIGN_STOP = "campaign_stop", _("Campaign stopped")
    DNC_ADD = "dnc_add", _("Number added to the do-not-call list")
    DNC_REMOVE = "dnc_remove", _("Number taken off the do-not-call list")
    DNC_UPLOAD = "dnc_upload", _("Do-not-call list uploaded")
    RED_LIST_ADD = "red_list_add", _("Customer added to the red list")
    RED_LIST_REMOVE = "red_list_remove", _("Customer taken off the red list")
    RED_LIST_UPLOAD = "red_list_upload", _("Red list uploaded")
    ADMIN_ADD = "admin_add", _("Added in the administration")
    ADMIN_CHANGE = "admin_change", _("Changed in the administration")
    ADMIN_DELETE = "admin_delete", _("Deleted in the administration")
    ROLES_CHANGE = "roles_change", _("Roles changed")
    PRIVILEGES_CHANGE = "privileges_change", _("Administration rights changed")
    NUMBER_REVEAL = "number_reveal", _("Full phone number shown")
    CONTACTS_ACCEPT = "contacts_accept", _("Contacts added after approval accepted")
    CONTACTS_DECLINE = "contacts_decline", _("Contacts added after approval declined")
    RETENTION_PURGE = "retention_purge", _("Personal data removed at the end of retention")
    API_CALL = "api_call", _("Integration called the API")


class AppendOnly(Exception):
    """An attempt to change or delete a record of the audit trail."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("The audit trail is append-only: events cannot be changed.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnly("The audit trail is append-only: events cannot be changed.")

    def delete(self):
        raise AppendOnly("The audit trail is append-only: events cannot be deleted.")

    delete.queryset_only = True


class AuditEvent(models.Model):
    """Who exported, downloaded or changed what, when and from which address.

    Append-only, at three levels:
    - Python: save() inserts and refuses to update a stored event; delete(), and update()
      and delete() on a queryset, raise AppendOnly. The admin shows events read-only.
    - The database: triggers (accounts.audit_triggers, installed by migration 0003 and again
      by every migration that alters the table) refuse UPDATE and DELETE of a row, so raw
      SQL and the ORM's own bulk paths fail too (IntegrityError on both databases).
      PostgreSQL: a plpgsql function called BEFORE UPDATE OR DELETE for each row.
      SQLite: two BEFORE triggers that RAISE(ABORT).
    - Flushing a whole database (manage.py flush, and the tests between transactional
      tests) still works, alike on both: PostgreSQL empties tables with TRUNCATE, which
      fires no row trigger; on SQLite, where flush is DELETE FROM, Waihu's backend
      (accounts.sqlite) lifts the triggers for that one transaction and restores them
      from their stored SQL before it commits. Emptying the database is the database
      owner's power, as dropping it is; no row of the trail can go on its own.

    The user is kept with PROTECT: a user who appears in the trail cannot be deleted
    (deactivate them instead), and their username is copied so the record reads the same
    whatever happens to the account. Phone numbers are masked before they are stored.
    SQLite rebuilds a table when a migration alters it, which drops its triggers: a
    migration that alters this table must install them again (the tests that UPDATE and
    DELETE through raw SQL would fail otherwise)."""

    created_at = models.DateTimeField(_("when"), default=timezone.now, editable=False)
    user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=AuditAction.choices)
    target_type = models.CharField(_("target type"), max_length=100, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    address = models.CharField(_("address"), max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit trail")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="audit_newest"),
            models.Index(fields=["action", "-created_at"], name="audit_action"),
            models.Index(fields=["username", "-created_at"], name="audit_username"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
            models.Index(fields=["address", "-created_at"], name="audit_address"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=AuditAction.values), name="accounts_audit_action"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.username or '-'} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("The audit trail is append-only: events cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("The audit trail is append-only: events cannot be deleted.")

    def details_text(self) -> str:
        return json.dumps(self.details, ensure_ascii=False, sort_keys=True) if self.details else ""
