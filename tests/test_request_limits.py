"""Request bodies are measured before anything parses them; an upload over the limit is
refused with a message naming it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.outbound.test_contacts_views import org  # noqa: F401

pytestmark = pytest.mark.django_db


def test_an_oversized_webhook_body_is_refused_before_its_signature_is_checked():
    client = Client()
    body = "CallStatus=completed&Junk=" + "x" * (70 * 1024)
    response = client.post(
        "/telephony/attempts/1/status/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413


def test_an_ordinary_webhook_body_still_reaches_the_signature_check():
    response = Client().post("/telephony/attempts/1/status/", {"CallStatus": "completed"})
    assert response.status_code == 403


def test_an_oversized_upload_is_refused_before_it_is_read(settings, org):  # noqa: F811
    settings.WAIHU_UPLOAD_MAX_MB = 1
    client = Client(headers={"accept-language": "en"})
    client.force_login(org.outbound_admin)
    body = b"x" * (2 * 1024 * 1024)
    response = client.post("/contacts/anything/", body, content_type="application/octet-stream")
    assert response.status_code == 413
    assert "larger than 1 MB" in response.content.decode()


def test_a_list_file_over_the_limit_gets_a_clear_form_error(settings):
    from outbound.contacts.forms import ContactUploadForm

    settings.WAIHU_UPLOAD_MAX_MB = 1
    upload = SimpleUploadedFile("list.csv", b"phone\n" + b"1" * (1024 * 1024))
    form = ContactUploadForm(data={}, files={"file": upload})
    assert not form.is_valid()
    assert "larger than 1 MB (WAIHU_UPLOAD_MAX_MB)" in " ".join(form.errors["file"])
    small = SimpleUploadedFile("list.csv", b"phone\n+8613800000000\n")
    assert ContactUploadForm(data={}, files={"file": small}).is_valid()
