from django.utils import translation


def openapi_document() -> dict:
    """The OpenAPI document as served at /api/v1/openapi.json, in English."""
    from api.api import api

    with translation.override("en"):
        return api.get_openapi_schema(path_prefix="/api/v1")
