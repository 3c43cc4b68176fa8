from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users and departments")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import m2m_changed, post_save, pre_save

        from accounts import checks, receivers  # noqa: F401  (checks registers the deployment checks)
        from accounts.middleware import session_stamp
        from accounts.models import User

        user_logged_in.connect(session_stamp, dispatch_uid="accounts.session_stamp")
        m2m_changed.connect(
            receivers.groups_changed, sender=User.groups.through, dispatch_uid="accounts.roles"
        )
        pre_save.connect(
            receivers.privileges_before_save, sender=User, dispatch_uid="accounts.rights_before"
        )
        post_save.connect(
            receivers.privileges_after_save, sender=User, dispatch_uid="accounts.rights_after"
        )
