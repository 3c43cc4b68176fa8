"""Contacts pushed through the API: the very rules of the upload (ContactRules, one service
with two entrances), a reason for every row turned away, idempotency keys, limits."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from api.models import ContactBatch
from outbound.contacts import services as contact_services
from outbound.contacts.rules import RejectReason
from outbound.models import Contact, DoNotCallEntry, RedListEntry, WorkOrder
from tests.api.conftest import Caller, make_integration, ready_order

pytestmark = pytest.mark.django_db

# phone, name, feedback date; the reason each row is turned away, or None.
ROWS = [
    ("13812345678", "张三", "2031-03-01", None),
    ("+86 139 0000 0001", "李四", "2031/03/02", None),
    ("0731-84123456", "王五", "2031年3月3日", None),
    ("138-1234-5678", "again", "2031-03-01", RejectReason.DUPLICATE_IN_FILE),
    ("12345", "赵六", "2031-03-01", RejectReason.INVALID_PHONE),
    ("", "钱七", "2031-03-01", RejectReason.MISSING_PHONE),
    ("13700000002", "孙八", "", RejectReason.BAD_DATE),
    ("13700000003", "周九", "March", RejectReason.BAD_DATE),
    ("13700000004", "吴十", "2031-03-01", RejectReason.DO_NOT_CALL),
    ("13700000005", "郑一", "2031-03-01", RejectReason.RED_LIST),
    ("13700000006", "王二", "2031-03-01", RejectReason.ALREADY_IN_CAMPAIGN),
    ("１５０００００００１１", "全角", "2031-03-04", None),
    ("+1 202 555 0123", "外国", "2031-03-01", RejectReason.FOREIGN_NUMBER),
    ("16012345", "声讯台", "2031-03-01", RejectReason.SPECIAL_NUMBER),
]


@pytest.fixture
def lists(org):
    today = timezone.localdate()
    DoNotCallEntry.objects.create(phone="+8613700000004", source="manual")
    RedListEntry.objects.create(
        phone="+8613700000005",
        starts_on=today - datetime.timedelta(days=1),
        ends_on=today + datetime.timedelta(days=30),
    )


def complaint_campaign(org):
    campaign = ready_order(org, kind=WorkOrder.Kind.COMPLAINT_CALLBACK)
    Contact.objects.create(campaign=campaign, phone="+8613700000006", name="earlier")
    return campaign


def stored(campaign) -> list[tuple]:
    return sorted(
        Contact.objects.filter(campaign=campaign)
        .exclude(name="earlier")
        .values_list("phone", "name", "deadline")
    )


def via_upload(org, campaign, settings, tmp_path, capture) -> list[tuple]:
    settings.MEDIA_ROOT = tmp_path / "media"
    text = "phone,name,feedback\r\n" + "".join(f"{p},{n},{d}\r\n" for p, n, d, _r in ROWS)
    upload = SimpleUploadedFile("list.csv", text.encode("utf-8"), content_type="text/csv")
    with capture(execute=True):
        job = contact_services.import_create(campaign=campaign, user=org.requester, upload=upload)
    job.refresh_from_db()
    with capture(execute=True):
        contact_services.import_start(
            job=job,
            user=org.requester,
            mapping={"phone": 0, "name": 1, "feedback_date": 2},
            deadline_days=7,
        )
    job.refresh_from_db()
    with capture(execute=True):
        contact_services.import_build_rejects(import_id=job.pk)
    job.refresh_from_db()
    with job.rejects_file.open("rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read())).active
        labels = {str(r.label): r.value for r in RejectReason}
        # The duplicate names the row it repeats, as the spreadsheet numbers it (the header
        # is row 1): 张三's.
        labels["Duplicate of row 2"] = RejectReason.DUPLICATE_IN_FILE.value
        return sorted(
            (row[1], labels[row[-1]]) for row in list(sheet.iter_rows(values_only=True))[1:]
        )


def via_api(caller, campaign) -> list[tuple]:
    contacts = [{"phone": p, "name": n, "feedback_at": d} for p, n, d, _r in ROWS]
    response = caller.post(
        f"/api/v1/campaigns/{campaign.pk}/contacts",
        {"contacts": contacts},
        headers={"idempotency-key": "batch-1"},
    )
    assert response.status_code == 200, response.content
    return sorted((ROWS[r["index"]][1], r["reason"]) for r in response.json()["rejected"])


def test_the_push_obeys_exactly_the_uploads_rules(
    org, lists, caller, settings, tmp_path, django_capture_on_commit_callbacks
):
    uploaded, pushed = complaint_campaign(org), complaint_campaign(org)
    upload_rejects = via_upload(
        org, uploaded, settings, tmp_path, django_capture_on_commit_callbacks
    )
    api_rejects = via_api(caller, pushed)
    expected = sorted((n, r.value) for _p, n, _d, r in ROWS if r is not None)
    assert upload_rejects == api_rejects == expected
    assert stored(uploaded) == stored(pushed)
    # Complaint feedback time → callback deadline: the feedback date plus seven days.
    assert ("+8613812345678", "张三", datetime.date(2031, 3, 8)) in stored(pushed)
    assert len(stored(pushed)) == 4


def test_a_duplicate_names_the_index_of_the_contact_it_repeats(caller, campaign):
    url = f"/api/v1/campaigns/{campaign.pk}/contacts"
    body = {
        "contacts": [
            {"phone": "13812345678"},
            {"phone": "13812345679"},
            {"phone": "138 1234 5679"},
            {"phone": "+8613812345678"},
        ]
    }
    first = caller.post(url, body, headers={"idempotency-key": "dup"})
    again = caller.post(url, body, headers={"idempotency-key": "dup"})
    expected = [
        (2, "duplicate_in_file", 1, "Same number as the contact at index 1"),
        (3, "duplicate_in_file", 0, "Same number as the contact at index 0"),
    ]
    rejected = first.json()["rejected"]
    assert [(r["index"], r["reason"], r["duplicate_of"], r["message"]) for r in rejected] == (
        expected
    )
    # A replayed batch's message is written again from what was stored.
    assert again.json()["replayed"] is True
    replayed = again.json()["rejected"]
    assert [(r["index"], r["reason"], r["duplicate_of"], r["message"]) for r in replayed] == (
        expected
    )


def test_a_repeated_batch_changes_nothing(caller, campaign):
    url = f"/api/v1/campaigns/{campaign.pk}/contacts"
    body = {"contacts": [{"phone": "13812345678"}, {"phone": "13812345679"}]}
    first = caller.post(url, body, headers={"idempotency-key": "k1"})
    again = caller.post(url, body, headers={"idempotency-key": "k1"})
    assert first.json()["accepted"] == 2 and first.json()["replayed"] is False
    assert again.json()["accepted"] == 2 and again.json()["replayed"] is True
    assert Contact.objects.filter(campaign=campaign).count() == 2
    assert ContactBatch.objects.count() == 1
    other = caller.post(url, body, headers={"idempotency-key": "k2"})
    assert other.json()["accepted"] == 0
    assert {r["reason"] for r in other.json()["rejected"]} == {"already_in_campaign"}


def test_a_key_reused_for_another_batch_is_a_conflict(caller, campaign):
    url = f"/api/v1/campaigns/{campaign.pk}/contacts"
    caller.post(url, {"contacts": [{"phone": "13812345678"}]}, headers={"idempotency-key": "k"})
    response = caller.post(
        url, {"contacts": [{"phone": "13812345670"}]}, headers={"idempotency-key": "k"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Contact.objects.filter(campaign=campaign).count() == 1


def test_the_idempotency_key_is_required(caller, campaign):
    response = caller.post(
        f"/api/v1/campaigns/{campaign.pk}/contacts", {"contacts": [{"phone": "13812345678"}]}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert not Contact.objects.exists()


def test_more_than_ten_thousand_rows_are_refused_whole(caller, campaign):
    contacts = [{"phone": f"138{n:08d}"} for n in range(10_001)]
    response = caller.post(
        f"/api/v1/campaigns/{campaign.pk}/contacts",
        {"contacts": contacts},
        headers={"idempotency-key": "big"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "contacts"
    assert not Contact.objects.exists()


def test_a_campaign_outside_reach_is_not_found(caller, other_campaign):
    response = caller.post(
        f"/api/v1/campaigns/{other_campaign.pk}/contacts",
        {"contacts": [{"phone": "13812345678"}]},
        headers={"idempotency-key": "k"},
    )
    assert response.status_code == 404
    assert not Contact.objects.exists()


def test_a_campaign_named_for_the_integration_is_within_reach(client, org, other_campaign):
    integration, token = make_integration(org, name="named")
    integration.campaigns.set([other_campaign])
    response = Caller(client, token).post(
        f"/api/v1/campaigns/{other_campaign.pk}/contacts",
        {"contacts": [{"phone": "13812345678"}]},
        headers={"idempotency-key": "k"},
    )
    assert response.status_code == 200
    assert Contact.objects.filter(campaign=other_campaign).count() == 1


def test_contacts_wait_for_the_approval(caller, org):
    from tests.factories import make_order

    draft = make_order(org.requester)
    response = caller.post(
        f"/api/v1/campaigns/{draft.pk}/contacts",
        {"contacts": [{"phone": "13812345678"}]},
        headers={"idempotency-key": "k"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "campaign_not_ready"


def test_pushing_needs_the_contacts_scope(client, org, campaign):
    _integration, token = make_integration(org, scopes=["results"], name="crm")
    response = Caller(client, token).post(
        f"/api/v1/campaigns/{campaign.pk}/contacts",
        {"contacts": [{"phone": "13812345678"}]},
        headers={"idempotency-key": "k"},
    )
    assert response.status_code == 403


def test_do_not_call_entries_are_added_and_removed(caller, campaign):
    added = caller.post("/api/v1/do-not-call", {"phone": "138 1234 5678", "reason": "asked"})
    assert added.status_code == 201 and added.json()["phone"] == "+8613812345678"
    assert DoNotCallEntry.objects.active().filter(phone="+8613812345678").count() == 1
    again = caller.post("/api/v1/do-not-call", {"phone": "13812345678"})
    assert again.json()["id"] == added.json()["id"]
    scoped = caller.post("/api/v1/do-not-call", {"phone": "13812345678", "campaign": campaign.pk})
    assert scoped.json()["campaign"] == campaign.pk
    removed = caller.delete("/api/v1/do-not-call/+8613812345678")
    assert removed.json() == {"removed": 1}
    assert DoNotCallEntry.objects.active().filter(campaign=None).count() == 0
    assert DoNotCallEntry.objects.active().filter(campaign=campaign).count() == 1
    assert caller.delete("/api/v1/do-not-call/+8613812345678").status_code == 404
    bad = caller.post("/api/v1/do-not-call", {"phone": "12"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "phone"


def test_do_not_call_for_a_campaign_outside_reach_is_not_found(caller, other_campaign):
    response = caller.post(
        "/api/v1/do-not-call", {"phone": "13812345678", "campaign": other_campaign.pk}
    )
    assert response.status_code == 404
    assert not DoNotCallEntry.objects.exists()
