from django.contrib import admin

from accounts.admin import AuditedAdmin
from approvals.models import ApprovalRequest, Chain, Decision, Holiday, Step


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    fields = ["position", "name", "kind", "actor", "group", "time_limit_hours", "comment_required"]
    ordering = ["position"]


@admin.register(Chain)
class ChainAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ["name", "code", "is_default"]
    inlines = [StepInline]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "is_working_day"]
    list_filter = ["is_working_day"]
    date_hierarchy = "date"


class DecisionInline(admin.TabularInline):
    model = Decision
    extra = 0
    can_delete = False
    fields = ["created_at", "step_name", "actor", "action", "comment"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = ["title", "requester", "department", "status", "current_step", "step_due_at"]
    list_filter = ["status", "chain", "department"]
    search_fields = ["title", "requester__username"]
    readonly_fields = [f.name for f in ApprovalRequest._meta.fields]
    inlines = [DecisionInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
