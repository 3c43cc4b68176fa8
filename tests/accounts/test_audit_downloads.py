"""Every download of personal data writes one event (who, which file, from where): results
and campaign workbooks, an import's rejected rows, a questionnaire's workbook. A workbook
is downloaded only by someone who may still read it: a role lost since the export was
asked for closes it, and the refusal is no download."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent
from accounts.roles import Role
from outbound.contacts import services as contacts
from outbound.models import WorkOrder
from outbound.services import order_submit
from reports.models import ExportJob, ExportStatus
from tests.accounts.audit_helpers import ADDRESS, events_written, no_event, one_event
from tests.factories import Org, make_order
from tests.reports.data import demo_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(db):
    return Org()


@pytest.fixture
def demo_version(db):
    from surveys.demo import demo_questionnaire_create

    return demo_questionnaire_create()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def desk(client):
    """A browser at a known address."""
    client.defaults["REMOTE_ADDR"] = ADDRESS
    return client


def _version_export(client, version, capture) -> ExportJob:
    with capture(execute=True):
        started = client.post(
            reverse("reports:export_start", args=[version.pk]), {"statuses": "completed"}
        )
    assert started.status_code == 302
    job = ExportJob.objects.latest("pk")
    assert job.status == ExportStatus.DONE, job.error
    return job


def _campaign(org, version) -> WorkOrder:
    order = make_order(org.requester)
    WorkOrder.objects.filter(pk=order.pk).update(
        questionnaire=version, run_status=WorkOrder.RunStatus.READY
    )
    order.refresh_from_db()
    return order


def _campaign_export(client, order, capture) -> ExportJob:
    with capture(execute=True):
        started = client.post(reverse("campaign_reports:export_start", args=[order.pk]), {})
    assert started.status_code == 302
    job = ExportJob.objects.latest("pk")
    assert job.status == ExportStatus.DONE, job.error
    return job


def _download(client, job):
    response = client.get(reverse("reports:export_download", args=[job.pk]))
    if response.status_code == 200:
        b"".join(response.streaming_content)
    return response


def test_a_results_workbook_download_is_one_event(
    desk, org, demo_version, django_capture_on_commit_callbacks
):
    demo_dataset(demo_version, count=3)
    desk.force_login(org.analyst)
    job = _version_export(desk, demo_version, django_capture_on_commit_callbacks)
    # Opening the job's page or asking its progress is not a download.
    with no_event():
        desk.get(reverse("reports:export_detail", args=[job.pk]))
        desk.get(reverse("reports:export_status", args=[job.pk]))
    with one_event(AuditAction.EXPORT_DOWNLOAD, user=org.analyst, target=job) as found:
        assert _download(desk, job).status_code == 200
    event = found[0]
    assert event.description.endswith(f"-{job.pk}.xlsx")
    assert event.details == {"phones_whole": False}


def test_a_campaign_workbook_download_is_one_event(
    desk, org, demo_version, django_capture_on_commit_callbacks
):
    order = _campaign(org, demo_version)
    desk.force_login(org.requester)
    job = _campaign_export(desk, order, django_capture_on_commit_callbacks)
    with one_event(AuditAction.EXPORT_DOWNLOAD, user=org.requester, target=job) as found:
        assert _download(desk, job).status_code == 200
    assert order.title in found[0].description


def test_an_analyst_who_lost_the_role_cannot_download_an_earlier_export(
    desk, org, demo_version, django_capture_on_commit_callbacks
):
    desk.force_login(org.analyst)
    job = _version_export(desk, demo_version, django_capture_on_commit_callbacks)
    analyst = Group.objects.get(name=Role.ANALYST)
    org.analyst.groups.remove(analyst)
    with no_event():
        assert _download(desk, job).status_code == 404
        assert desk.get(reverse("reports:export_detail", args=[job.pk])).status_code == 404
        assert desk.get(reverse("reports:export_status", args=[job.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT_DOWNLOAD).exists()
    # The role given back, the same job downloads again: the role was the reason.
    org.analyst.groups.add(analyst)
    with one_event(AuditAction.EXPORT_DOWNLOAD, user=org.analyst, target=job):
        assert _download(desk, job).status_code == 200


def test_whole_numbers_need_the_role_that_sees_them_at_download_time(
    desk, org, demo_version, django_capture_on_commit_callbacks
):
    order = _campaign(org, demo_version)
    desk.force_login(org.outbound_admin)
    job = _campaign_export(desk, order, django_capture_on_commit_callbacks)
    assert job.show_phones
    # Now an analyst only: still a reader of the campaign, no longer of whole numbers.
    org.outbound_admin.groups.set([Group.objects.get(name=Role.ANALYST)])
    with no_event():
        assert _download(desk, job).status_code == 404


def test_a_requester_who_lost_the_campaign_cannot_download_its_export(
    desk, org, demo_version, django_capture_on_commit_callbacks
):
    order = _campaign(org, demo_version)
    desk.force_login(org.requester)
    job = _campaign_export(desk, order, django_capture_on_commit_callbacks)
    # The order is handed to another requester: the first no longer reads it.
    WorkOrder.objects.filter(pk=order.pk).update(requester=org.other_requester)
    with no_event():
        assert _download(desk, job).status_code == 404


def test_the_rejected_rows_download_is_one_event(desk, org):
    order = make_order(org.requester)
    order_submit(order=order, user=org.requester)
    WorkOrder.objects.filter(pk=order.pk).update(run_status=WorkOrder.RunStatus.READY)
    order.refresh_from_db()
    upload = SimpleUploadedFile("名单.csv", "手机号码\r\n12345\r\n".encode(), "text/csv")
    job = contacts.import_create(campaign=order, user=org.requester, upload=upload)
    job.rejects_file.save("rejects.xlsx", ContentFile(b"PK rejects"), save=True)
    desk.force_login(org.outbound_admin)
    with one_event(AuditAction.REJECTS_DOWNLOAD, user=org.outbound_admin, target=job) as found:
        response = desk.get(reverse("contacts:import_rejects", args=[job.pk]))
        assert b"".join(response.streaming_content) == b"PK rejects"
    assert found[0].description == "名单.csv"
    # Someone who may not manage the contacts gets nothing, and nothing is recorded.
    desk.force_login(org.nobody)
    with no_event():
        assert desk.get(reverse("contacts:import_rejects", args=[job.pk])).status_code == 404


def test_a_questionnaire_export_is_one_event(desk, org, demo_version):
    desk.force_login(org.outbound_admin)
    url = reverse("surveys:version_export", args=[demo_version.pk])
    with one_event(AuditAction.QUESTIONNAIRE_EXPORT, user=org.outbound_admin, target=demo_version):
        assert desk.get(url).status_code == 200
    assert AuditEvent.objects.get(action=AuditAction.QUESTIONNAIRE_EXPORT).description == str(
        demo_version
    )


def test_the_address_behind_the_operators_proxy_is_recorded(client, org, demo_version, settings):
    """With WAIHU_PROXY_COUNT proxies in front, the address they saw, not the proxy's."""
    settings.WAIHU_PROXY_COUNT = 1
    client.force_login(org.outbound_admin)
    url = reverse("surveys:version_export", args=[demo_version.pk])
    with events_written() as written:
        client.get(url, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert [event.address for event in written] == ["203.0.113.9"]
