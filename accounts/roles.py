"""The customer's roles, kept as Django groups (names are stable keys; labels translate)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REQUESTER = "requester", _("Requester")
    DEPARTMENT_LEADER = "department_leader", _("Department leader")
    OUTBOUND_ADMIN = "outbound_admin", _("Outbound administrator")
    CS_DEPARTMENT_LEADER = "cs_department_leader", _("Customer-service department leader")
    CS_CENTRE_LEADER = "cs_centre_leader", _("Customer-service centre leader")
    CALL_AGENT = "call_agent", _("Call agent")
    ANALYST = "analyst", _("Analyst")


def role_label(group_name: str) -> str:
    try:
        return str(Role(group_name).label)
    except ValueError:
        return group_name
