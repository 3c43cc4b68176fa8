"""The OpenAPI document validates, matches the committed copy (regenerate it with
`manage.py api_schema` when the API changes on purpose), and the docs need no CDN."""

import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from api.schema import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "api" / "openapi.json"


def test_the_document_is_valid_openapi():
    validate(json.loads(json.dumps(openapi_document())))


@pytest.mark.django_db
def test_the_served_document_is_the_committed_one(client):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    committed = json.loads(COMMITTED.read_text())
    assert served.json() == committed == json.loads(json.dumps(openapi_document()))


@pytest.mark.django_db
def test_the_docs_page_loads_its_assets_from_waihu_itself(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
