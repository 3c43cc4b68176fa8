"""Every API call in the record: who (the integration), what (method and path, how it
ended), when. `record_call` is the one place to point at a shared audit trail."""

from django.utils import timezone

from api.models import ApiCall


def record_call(*, integration, method: str, path: str, status_code: int) -> None:
    ApiCall.objects.create(
        integration=integration,
        method=method,
        path=path[:255],
        status_code=status_code,
        at=timezone.now(),
    )
