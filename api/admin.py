from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from api.delivery import delivery_send_again
from api.models import Delivery, DissatisfiedChoice, Integration, Subscription
from api.services import integration_issue_token, integration_revoke, validate_scopes


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ("name", "scopes", "requester", "token_issued_at", "revoked_at", "last_used_at")
    filter_horizontal = ("departments", "campaigns")
    raw_id_fields = ("requester",)
    readonly_fields = (
        "token_prefix",
        "token_issued_at",
        "revoked_at",
        "last_used_at",
        "created_by",
        "created_at",
    )
    exclude = ("token_hash",)
    actions = ("rotate_token", "revoke_token")

    def save_model(self, request, obj, form, change):
        validate_scopes(obj.scopes or [])
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if not change:
            self._show_token(request, obj)

    def _show_token(self, request, obj):
        token = integration_issue_token(integration=obj)
        messages.warning(
            request,
            _("Token for %(name)s, shown only this once: %(token)s")
            % {"name": obj.name, "token": token},
        )

    @admin.action(description=_("Issue a new token (the old one stops working)"))
    def rotate_token(self, request, queryset):
        for integration in queryset:
            self._show_token(request, integration)

    @admin.action(description=_("Revoke the token"))
    def revoke_token(self, request, queryset):
        for integration in queryset:
            integration_revoke(integration=integration)


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ("event", "status", "attempts", "response_code", "error", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ("-created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("event")[:50]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "events", "integration", "active")
    readonly_fields = ("secret", "created_at")

    def save_model(self, request, obj, form, change):
        import secrets

        if not obj.secret:
            obj.secret = secrets.token_hex(32)
        super().save_model(request, obj, form, change)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "subscription",
        "event",
        "status",
        "attempts",
        "response_code",
        "delivered_at",
    )
    list_filter = ("status", "subscription")
    list_select_related = ("subscription", "event")
    actions = ("send_again",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send again"))
    def send_again(self, request, queryset):
        for delivery in queryset:
            delivery_send_again(delivery=delivery)
        messages.success(request, _("The deliveries go out again."))


@admin.register(DissatisfiedChoice)
class DissatisfiedChoiceAdmin(admin.ModelAdmin):
    raw_id_fields = ("choice",)
