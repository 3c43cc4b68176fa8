from django.http import HttpRequest

from accounts.roles import Role


def navigation(request: HttpRequest) -> dict:
    """What the navigation bar shows this user: the roles they hold. (The inbox count comes
    from approvals.context_processors.inbox.)"""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav": {
            "can_file": user.has_role(Role.REQUESTER),
            "is_agent": user.has_role(Role.CALL_AGENT),
            "is_outbound_admin": user.has_role(Role.OUTBOUND_ADMIN),
            "can_read_results": user.has_role(Role.ANALYST, Role.OUTBOUND_ADMIN),
            "can_read_leaders_page": user.has_role(
                Role.CS_CENTRE_LEADER, Role.CS_DEPARTMENT_LEADER, Role.ANALYST, Role.OUTBOUND_ADMIN
            ),
            "is_admin": user.is_staff,
        }
    }
