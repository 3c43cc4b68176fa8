from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.audit import AuditAction, audit_record, form_changes, form_values
from accounts.models import AuditEvent, Department, User


class AuditedAdmin:
    """Mixed into a ModelAdmin: every row added, changed or deleted through its pages and
    their inlines goes into the audit trail, with the changed fields' old and new values."""

    def _audit(self, request, action, obj, details=None) -> None:
        audit_record(user=request.user, action=action, target=obj, details=details, request=request)

    def save_model(self, request, obj, form, change):
        changes = form_changes(form) if change else form_values(form)
        super().save_model(request, obj, form, change)
        if not change:
            self._audit(request, AuditAction.ADMIN_ADD, obj, {"values": changes})
        elif changes:
            self._audit(request, AuditAction.ADMIN_CHANGE, obj, {"changed": changes})

    def delete_model(self, request, obj):
        self._audit(request, AuditAction.ADMIN_DELETE, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self._audit(request, AuditAction.ADMIN_DELETE, obj)
        super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        deleted = formset.deleted_forms
        parent = (formset.fk.name,) if getattr(formset, "fk", None) else ()
        for inline in deleted:
            if inline.instance.pk is not None:
                self._audit(request, AuditAction.ADMIN_DELETE, inline.instance)
        changed = [
            (inline, form_changes(inline))
            for inline in formset.initial_forms
            if inline not in deleted and inline.has_changed()
        ]
        added = [f for f in formset.extra_forms if f not in deleted and f.has_changed()]
        super().save_formset(request, form, formset, change)
        for inline, changes in changed:
            if changes:
                details = {"changed": changes}
                self._audit(request, AuditAction.ADMIN_CHANGE, inline.instance, details)
        for inline in added:
            values = form_values(inline, skip=parent)
            self._audit(request, AuditAction.ADMIN_ADD, inline.instance, {"values": values})


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ["name", "code", "leader"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["leader"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "department", "agent_no", "is_active"]
    list_filter = ["department", "groups", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "first_name", "last_name", "email", "agent_no"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (
            _("Waihu"),
            {"fields": ("display_name", "department", "agent_no", "phone", "language")},
        ),
    )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The trail, read-only for everyone, superusers included."""

    list_display = ["created_at", "username", "action", "target_type", "target_id", "address"]
    list_filter = ["action", "created_at"]
    search_fields = ["username", "description", "address", "target_id"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    readonly_fields = [
        "created_at",
        "user",
        "username",
        "action",
        "target_type",
        "target_id",
        "description",
        "details",
        "address",
    ]
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
