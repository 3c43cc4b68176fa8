from django.contrib.auth.models import AbstractUser
from django.db import models
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
