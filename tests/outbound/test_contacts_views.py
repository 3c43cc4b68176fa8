"""The contact pages through the test client: who may see them, the upload, mapping,
progress and result pages, and the do-not-call and red-list pages."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from outbound.contacts import services
from outbound.models import Contact, ContactImport, DoNotCallEntry, RedListEntry, WorkOrder
from outbound.services import order_submit
from tests.factories import Org, make_order

pytestmark = pytest.mark.django_db

CSV = (
    "手机号码,姓名,地市,套餐\r\n"
    "13812345678,张三,长沙,88元\r\n"
    "12345,坏号,长沙,\r\n"
    "0731-84123456,李四,株洲,18元\r\n"
)


def upload(name="名单.csv", content=CSV, encoding="gb18030"):
    return SimpleUploadedFile(name, content.encode(encoding), content_type="text/csv")


@pytest.fixture
def org():
    return Org()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def campaign(org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    WorkOrder.objects.filter(pk=order.pk).update(run_status=WorkOrder.RunStatus.READY)
    order.refresh_from_db()
    return order


def login(client, user):
    client.force_login(user)
    return client


def test_upload_map_preview_and_progress(client, org, campaign, django_capture_on_commit_callbacks):
    login(client, org.outbound_admin)
    page = client.get(reverse("contacts:import_upload", args=[campaign.pk]))
    assert page.status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as reading:
        response = client.post(
            reverse("contacts:import_upload", args=[campaign.pk]), {"file": upload()}
        )
    job = ContactImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:import_map", args=[job.pk])
    # The request stored the file; a worker reads it. Meanwhile the mapping page waits
    # on the progress page, which turns into the mapping form once the columns are read.
    assert job.status == ContactImport.Status.READING
    assert job.header == []
    waiting = client.get(response["Location"])
    assert waiting.status_code == 302
    assert waiting["Location"] == job.get_absolute_url()
    page = client.get(job.get_absolute_url())
    assert b"import_progress.js" in page.content
    assert client.get(reverse("contacts:import_status", args=[job.pk])).json()["status"] == (
        "reading"
    )
    for callback in reading:
        callback()
    assert client.get(job.get_absolute_url())["Location"] == response["Location"]

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "gb18030" in html
    assert "+8613812345678" in html  # the normalised number of the first row
    assert "坏号" in html
    form = page.context["form"]
    assert form.initial["phone"] == "0"
    assert form.initial["name"] == "1"
    assert form.initial["region"] == "2"

    # The progress page before the job runs, as a reload would see it.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("contacts:import_map", args=[job.pk]),
            {"phone": "0", "name": "1", "region": "2", "deadline_days": "7"},
        )
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    page = client.get(job.get_absolute_url())
    assert page.status_code == 200
    assert b"import_progress.js" in page.content
    status = client.get(reverse("contacts:import_status", args=[job.pk])).json()
    assert status["status"] == "queued"
    assert status["finished"] is False

    with django_capture_on_commit_callbacks(execute=False) as more:
        for callback in callbacks:
            callback()
    status = client.get(reverse("contacts:import_status", args=[job.pk])).json()
    assert status["status"] == "done"
    assert status["progress"] == 100.0
    assert status["counts"]["rows_read"] == 3
    assert status["counts"]["imported"] == 2
    assert status["counts"]["invalid"] == 1
    # The counts are in; the rejected rows' workbook comes from a task of its own.
    assert status["rejects_pending"] is True
    assert status["finished"] is False
    assert b'data-testid="rejects-pending"' in client.get(job.get_absolute_url()).content
    for callback in more:
        callback()
    status = client.get(reverse("contacts:import_status", args=[job.pk])).json()
    assert status["finished"] is True
    assert status["rejects_url"] == reverse("contacts:import_rejects", args=[job.pk])
    page = client.get(job.get_absolute_url())
    assert b"import_progress.js" not in page.content
    assert b'data-testid="rejects-link"' in page.content

    download = client.get(status["rejects_url"])
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:2] == ("12345", "坏号")
    assert Contact.objects.get(phone="+8613812345678").attributes == {"套餐": "88元"}

    # A mapped job cannot be mapped again.
    again = client.get(reverse("contacts:import_map", args=[job.pk]))
    assert again.status_code == 302


def test_the_mapping_needs_a_phone_column(
    client, org, campaign, django_capture_on_commit_callbacks
):
    login(client, org.requester)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("contacts:import_upload", args=[campaign.pk]), {"file": upload()})
    job = ContactImport.objects.get()
    response = client.post(
        reverse("contacts:import_map", args=[job.pk]), {"name": "1", "deadline_days": "7"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["phone"]
    job.refresh_from_db()
    assert job.status == ContactImport.Status.UPLOADED


def test_a_wrong_file_type_is_refused(client, org, campaign):
    login(client, org.requester)
    response = client.post(
        reverse("contacts:import_upload", args=[campaign.pk]),
        {"file": SimpleUploadedFile("list.pdf", b"%PDF-1.4")},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not ContactImport.objects.exists()


def _pages(campaign, job):
    return [
        reverse("contacts:campaign_contacts", args=[campaign.pk]),
        reverse("contacts:import_upload", args=[campaign.pk]),
        reverse("contacts:import_map", args=[job.pk]),
        reverse("contacts:import_detail", args=[job.pk]),
        reverse("contacts:import_status", args=[job.pk]),
        reverse("contacts:import_rejects", args=[job.pk]),
    ]


def test_who_may_open_the_contact_pages(client, org, campaign):
    job = services.import_create(campaign=campaign, user=org.requester, upload=upload())
    # Roles that see the order but do not manage its contacts.
    for user in (org.cs_leader, org.centre_leader):
        login(client, user)
        for url in _pages(campaign, job):
            assert client.get(url).status_code == 403, (user, url)
    # Another department's users do not see the order at all.
    for user in (org.other_requester, org.other_leader, org.nobody, org.agent):
        login(client, user)
        for url in _pages(campaign, job):
            assert client.get(url).status_code == 404, (user, url)
    login(client, org.requester)
    assert client.get(_pages(campaign, job)[0]).status_code == 200
    client.logout()
    response = client.get(_pages(campaign, job)[0])
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_no_upload_before_approval(client, org):
    draft = make_order(org.requester)
    login(client, org.requester)
    assert client.get(reverse("contacts:import_upload", args=[draft.pk])).status_code == 403
    response = client.post(reverse("contacts:import_upload", args=[draft.pk]), {"file": upload()})
    assert response.status_code == 403
    page = client.get(reverse("contacts:campaign_contacts", args=[draft.pk]))
    assert page.status_code == 200
    assert not page.context["can_upload"]


# --- do-not-call and red list --------------------------------------------------------------


def test_list_pages_are_for_outbound_administrators(client, org):
    entry = services.dnc_add(phone="13812345678", source="manual")
    red = services.red_list_add(
        phone="13812345678", starts_on=datetime.date(2026, 1, 1), ends_on=datetime.date(2026, 6, 1)
    )
    urls_get = [reverse("contacts:dnc_list"), reverse("contacts:red_list")]
    urls_post = [
        reverse("contacts:dnc_add"),
        reverse("contacts:dnc_upload"),
        reverse("contacts:dnc_remove", args=[entry.pk]),
        reverse("contacts:red_list_add"),
        reverse("contacts:red_list_upload"),
        reverse("contacts:red_list_remove", args=[red.pk]),
    ]
    for user in (org.requester, org.cs_leader, org.agent, org.analyst, org.other_requester):
        login(client, user)
        for url in urls_get + urls_post:
            assert client.post(url).status_code == 403, (user, url)
        for url in urls_get:
            assert client.get(url).status_code == 403, (user, url)
    login(client, org.outbound_admin)
    for url in urls_post:
        assert client.get(url).status_code == 405


def test_dnc_add_search_and_remove(client, org, campaign):
    login(client, org.outbound_admin)
    response = client.post(
        reverse("contacts:dnc_add"),
        {"phone": "138 1234 5678", "reason": "投诉后要求不再来电", "campaign": ""},
    )
    assert response.status_code == 302
    entry = DoNotCallEntry.objects.get()
    assert (entry.phone, entry.source, entry.added_by, entry.campaign) == (
        "+8613812345678",
        DoNotCallEntry.Source.MANUAL,
        org.outbound_admin,
        None,
    )
    client.post(reverse("contacts:dnc_add"), {"phone": "13900000000", "campaign": str(campaign.pk)})
    assert DoNotCallEntry.objects.get(phone="+8613900000000").campaign == campaign
    bad = client.post(reverse("contacts:dnc_add"), {"phone": "12345"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["phone"]

    page = client.get(reverse("contacts:dnc_list"), {"q": "1381234"})
    assert [e.phone for e in page.context["page"]] == ["+8613812345678"]
    page = client.get(reverse("contacts:dnc_list"), {"q": "不再来电"})
    assert [e.phone for e in page.context["page"]] == ["+8613812345678"]

    client.post(reverse("contacts:dnc_remove", args=[entry.pk]))
    entry.refresh_from_db()
    assert entry.removed_by == org.outbound_admin
    assert entry.removed_at is not None
    page = client.get(reverse("contacts:dnc_list"))
    assert [e.phone for e in page.context["page"]] == ["+8613900000000"]
    page = client.get(reverse("contacts:dnc_list"), {"removed": "1"})
    assert len(page.context["page"]) == 2


def test_dnc_upload(client, org):
    login(client, org.outbound_admin)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    services.dnc_add(phone="13700000000", source="manual")
    content = "号码,原因\r\n13812345678,拒访\r\n13812345678,拒访\r\n+86 137 0000 0000,\r\n123,x\r\n"
    response = client.post(
        reverse("contacts:dnc_upload"), {"file": upload(content=content), "reason": "名单"}
    )
    assert response.status_code == 302
    entry = DoNotCallEntry.objects.get(phone="+8613812345678")
    assert (entry.reason, entry.source, entry.added_by) == (
        "拒访",
        DoNotCallEntry.Source.UPLOAD,
        org.outbound_admin,
    )
    assert DoNotCallEntry.objects.count() == 2
    page = client.get(reverse("contacts:dnc_list"))
    messages = [str(m) for m in page.context["messages"]]
    assert messages == ["4 rows read: 1 added, 2 already listed, 1 not valid numbers."]


def test_dnc_upload_without_header(client, org):
    login(client, org.outbound_admin)
    content = "13812345678\r\n13900000000\r\n"
    client.post(reverse("contacts:dnc_upload"), {"file": upload(content=content), "reason": "x"})
    assert set(DoNotCallEntry.objects.values_list("phone", "reason")) == {
        ("+8613812345678", "x"),
        ("+8613900000000", "x"),
    }


def test_red_list_add_validates_one_year(client, org):
    login(client, org.outbound_admin)
    response = client.post(
        reverse("contacts:red_list_add"),
        {"phone": "13812345678", "starts_on": "2026-03-01", "ends_on": "2027-03-02"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["ends_on"]
    response = client.post(
        reverse("contacts:red_list_add"),
        {
            "phone": "13812345678",
            "customer_name": "王总",
            "starts_on": "2026-03-01",
            "ends_on": "2027-03-01",
        },
    )
    assert response.status_code == 302
    entry = RedListEntry.objects.get()
    assert (entry.customer_name, entry.added_by) == ("王总", org.outbound_admin)
    client.post(reverse("contacts:red_list_remove", args=[entry.pk]))
    entry.refresh_from_db()
    assert entry.removed_by == org.outbound_admin


def test_red_list_upload(client, org):
    login(client, org.outbound_admin)
    content = "客户,手机\r\n王总,13812345678\r\n李总,0731-84123456\r\n"
    response = client.post(
        reverse("contacts:red_list_upload"),
        {"file": upload(content=content), "starts_on": "2026-11-01", "ends_on": "2027-10-31"},
    )
    assert response.status_code == 302
    assert set(RedListEntry.objects.values_list("phone", "customer_name")) == {
        ("+8613812345678", "王总"),
        ("+8673184123456", "李总"),
    }
    too_long = client.post(
        reverse("contacts:red_list_upload"),
        {"file": upload(content=content), "starts_on": "2026-11-01", "ends_on": "2027-11-02"},
    )
    assert too_long.status_code == 400
    assert RedListEntry.objects.count() == 2
