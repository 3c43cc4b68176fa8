"""Every API call in the audit trail, beside the people's downloads and changes: which
integration, what (method and path, how it ended), when and from which address. The
system administrator reads them on the audit page (action "Integration called the API")."""

from accounts.audit import AuditAction, audit_record


def record_call(*, request, integration, method: str, path: str, status_code: int) -> None:
    audit_record(
        user=None,
        action=AuditAction.API_CALL,
        target=integration,
        description=f"{integration.name}: {method} {path} {status_code}",
        details={"method": method, "path": path, "status": status_code},
        request=request,
    )
