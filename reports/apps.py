from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        # Reports read outbound: the contact behind each response gives its attributes.
        from reports.contact_attributes import attribute_source
        from reports.hooks import register_attribute_source

        register_attribute_source(attribute_source, fixed=True)

        # Interviews keep the results' counts up to date as they are saved.
        from reports.tallies import response_observer
        from surveys.hooks import register_response_observer

        register_response_observer(response_observer)
