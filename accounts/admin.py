from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
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
