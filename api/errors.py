"""Errors as the API answers them: JSON with a stable code, a message in the caller's
language and, where one is to blame, the field."""

from django.http import HttpRequest
from django.utils.translation import gettext as _


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra


def body(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "field": field}}


def not_found() -> ApiError:
    return ApiError(404, "not_found", _("Not found, or not within this integration's reach."))


def install(api) -> None:
    """The handlers, on the NinjaAPI instance."""
    from django.core.exceptions import PermissionDenied
    from django.core.exceptions import ValidationError as DjangoValidationError
    from ninja.errors import AuthenticationError, HttpError
    from ninja.errors import ValidationError as SchemaError

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, error: ApiError):
        response = api.create_response(
            request, body(error.code, error.message, error.field), status=error.status
        )
        for header, value in error.extra.get("headers", {}).items():
            response[header] = value
        return response

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, error):
        return api.create_response(
            request,
            body("unauthenticated", _("Send a valid, unrevoked token as 'Bearer <token>'.")),
            status=401,
        )

    @api.exception_handler(SchemaError)
    def invalid_request(request: HttpRequest, error: SchemaError):
        first = error.errors[0] if error.errors else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "payload")]
        field = ".".join(location) or None
        return api.create_response(
            request,
            body(
                "invalid_request",
                _("The request does not match the schema: %(m)s") % {"m": first.get("msg", "")},
                field,
            ),
            status=422,
        )

    @api.exception_handler(DjangoValidationError)
    def invalid(request: HttpRequest, error: DjangoValidationError):
        if hasattr(error, "message_dict"):
            field, messages = next(iter(error.message_dict.items()))
            field = None if field == "__all__" else field
        else:
            field, messages = None, error.messages
        return api.create_response(request, body("invalid", " ".join(messages), field), status=400)

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, error: PermissionDenied):
        return api.create_response(
            request, body("forbidden", str(error) or _("Not allowed.")), status=403
        )

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, error: HttpError):
        return api.create_response(
            request, body("http_error", str(error)), status=error.status_code
        )
