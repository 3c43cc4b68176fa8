"""The address a request came from, for login throttling and the audit trail."""

from django.conf import settings


def client_address(request) -> str:
    """The connection's address, or with WAIHU_PROXY_COUNT proxies in front, the address
    the outermost of them saw. Only the hops the operator's own proxies appended are read,
    so a client cannot choose its address by sending X-Forwarded-For itself."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    hops = settings.WAIHU_PROXY_COUNT
    if not hops:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < hops:
        return forwarded[0] if forwarded else remote
    return forwarded[-hops]
