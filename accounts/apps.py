from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users and departments")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts import checks  # noqa: F401  (registers the deployment checks)
        from accounts.middleware import session_stamp

        user_logged_in.connect(session_stamp, dispatch_uid="accounts.session_stamp")
