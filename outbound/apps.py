from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboundConfig(AppConfig):
    name = "outbound"
    verbose_name = _("Outbound")

    def ready(self) -> None:
        from outbound import receivers  # noqa: F401  (connects to approvals' signals)
        from outbound.hooks import questionnaire_usage
        from surveys.hooks import register_usage_provider

        register_usage_provider(questionnaire_usage)
