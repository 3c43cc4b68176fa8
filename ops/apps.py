from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Running Waihu in production: health checks, metrics, logs, request timeouts."""

    name = "ops"
    verbose_name = _("Operations")

    def ready(self) -> None:
        from ops import signals

        signals.connect()
