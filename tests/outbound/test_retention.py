"""Retention under the Personal Information Protection Law, proven on a finished campaign
with time-machine: before its period runs out nothing goes; the dry run lists what would
go and changes nothing; afterwards the daily task deletes the uploaded list, its rejected
rows, the result workbook and the recording (at the carrier: the sandbox, over the real
SDK), anonymises the contacts, leaves the results page and the kept counts exactly as they
were, still matches the do-not-call list, records itself in the audit trail, and does
nothing the second time."""

import datetime
import json
import re
import time
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent
from outbound import retention as outbound_retention
from outbound import telephony
from outbound.contacts import services as contact_services
from outbound.contacts.selectors import excluded_e164
from outbound.models import (
    CallAttempt,
    CampaignSettings,
    Contact,
    ContactImport,
    DoNotCallEntry,
    Recording,
    SandboxCall,
    WorkOrder,
)
from reports.models import Tally
from reports.tallies import tallies_rebuild
from retention import services, tasks
from tests.outbound import test_dialer_fixtures as fx
from tests.reports.conftest import demo_version, install_index_defaults
from tests.reports.test_campaign_analysis_export import _export
from tests.reports.test_campaign_results import _campaign, source_registered

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
org, sandbox, telephony_settings, workers = fx.org, fx.sandbox, fx.telephony_settings, fx.workers
_source, demo_version = source_registered, demo_version

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The campaign of tests/reports/campaign_data.py called in March 2026; stopped on 1 April.
STOPPED = datetime.datetime(2026, 4, 1, 10, 0, tzinfo=SHANGHAI)
RECORDING_DIGITS = "ab" * 16
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
BANNER = re.compile(r'<div class="alert alert-secondary" data-testid="retention-removed">.*?</div>')


def at(days: float) -> datetime.datetime:
    return STOPPED + datetime.timedelta(days=days)


@pytest.fixture
def retention_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.WAIHU_RETENTION_DAYS = 365
    settings.WAIHU_RETENTION_DAYS_BY_KIND = {}
    settings.WAIHU_RETENTION_BATCH_SIZE = 5  # several batches for 18 contacts
    return settings


@pytest.fixture
def finished(org, demo_version, sandbox, retention_settings, client, _source):
    """The finished campaign: 18 contacts with their calls and interviews, the list's other
    columns, an opt-out on the do-not-call list, an uploaded list with its rejected rows,
    a recorded call kept by the sandbox, and a result workbook; stopped on STOPPED."""
    install_index_defaults()
    with time_machine.travel(STOPPED - datetime.timedelta(hours=2), tick=True):
        order, _a, _b, contacts = _campaign(org, demo_version)
        Contact.objects.filter(campaign=order).update(
            attributes={"address": "长沙市芙蓉区五一大道 1 号", "customer_id": "C-000417"}
        )
        # c6 asked during the call never to be called again.
        contact_services.dnc_add(
            phone=contacts["c6"].phone,
            source=DoNotCallEntry.Source.CALL,
            reason="asked during a call",
            held=True,
        )
        upload = SimpleUploadedFile(
            "list.csv", f"phone,name\n{contacts['c1'].phone},c1\n".encode(), "text/csv"
        )
        job = contact_services.import_create(campaign=order, user=org.outbound_admin, upload=upload)
        job.rejects_file.save("rejects.xlsx", ContentFile(b"the rejected rows"), save=True)
        attempt = contacts["c1"].call_attempts.order_by("-number").first()
        CallAttempt.objects.filter(pk=attempt.pk).update(call_sid="CA" + RECORDING_DIGITS)
        SandboxCall.objects.create(
            sid="CA" + RECORDING_DIGITS,
            account_sid=telephony.account_sid(),
            to=contacts["c1"].phone,
            from_number="+8673110086",
            url="http://x.test/twiml",
            plan="answered",
            record=True,
            status="completed",
            duration=60,
            start_time=timezone.now(),
        )
        Recording.objects.create(
            attempt=attempt,
            sid="RE" + RECORDING_DIGITS,
            account_sid=telephony.account_sid(),
            call_sid="CA" + RECORDING_DIGITS,
            status=Recording.Status.COMPLETED,
            duration=60,
        )
        client.force_login(org.outbound_admin)
        export, _content = _export(client, order, {}, _run_now)
    with time_machine.travel(STOPPED, tick=False):
        CampaignSettings.objects.update_or_create(
            campaign=order,
            defaults={"state": CampaignSettings.State.STOPPED, "state_changed_at": timezone.now()},
        )
    order.refresh_from_db()
    job.refresh_from_db()
    return order, contacts, job, export


class _run_now:
    """Stands in for django_capture_on_commit_callbacks in a transactional test, where
    on-commit callbacks run at once."""

    def __init__(self, execute=True):
        pass

    def __enter__(self):
        return []

    def __exit__(self, *exc):
        return False


def _results_page(client, org, order) -> str:
    client.force_login(org.analyst)
    page = client.get(reverse("campaign_reports:results", args=[order.pk]))
    assert page.status_code == 200
    return BANNER.sub("", CSRF.sub("", page.content.decode()))


def _tallies() -> list[tuple]:
    return sorted(Tally.objects.values_list(*Tally.KEY, "n"))


def _files(order, job, export) -> list[Path]:
    return [Path(job.file.path), Path(job.rejects_file.path), Path(export.file.path)]


def _audio_status(sid: str) -> int:
    media = telephony.recording_media(sid, "wav")
    media.close()
    return media.status_code


def test_retention_end_to_end(client, org, finished, retention_settings):
    order, contacts, job, export = finished
    files = _files(order, job, export)
    numbers = {c.name: c.phone for c in contacts.values()}
    names = set(numbers)
    recording = "RE" + RECORDING_DIGITS
    assert all(path.exists() for path in files)

    with time_machine.travel(at(1), tick=True):
        tallies_rebuild(version=order.questionnaire)
        page_before = _results_page(client, org, order)
        tallies_before = _tallies()
    assert tallies_before

    # A day before the end of its period: nothing is due, the task leaves everything.
    with time_machine.travel(at(364), tick=True):
        assert services.plan() == []
        assert tasks.purge_due() == {"purged": [], "failed": []}
    assert all(path.exists() for path in files)
    assert Contact.objects.get(pk=contacts["c1"].pk).phone == numbers["c1"]

    # A day after: the dry run lists it, and changes nothing.
    with time_machine.travel(at(366), tick=True):
        [planned] = services.plan()
        out = StringIO()
        call_command("retention", stdout=out)
    assert (planned.campaign_id, planned.days, planned.contacts) == (order.pk, 365, 18)
    assert (planned.files, planned.workbooks, planned.recordings) == (2, 1, 1)
    assert planned.bytes == sum(path.stat().st_size for path in files)
    assert planned.due_at == at(365)
    assert order.number in out.getvalue() and "Dry run: 1 campaigns" in out.getvalue()
    assert "18 contacts to anonymise" in out.getvalue()
    assert all(path.exists() for path in files)
    assert set(order.contacts.values_list("phone", flat=True)) == set(numbers.values())
    assert _audio_status(recording) == 200
    assert not AuditEvent.objects.filter(action=AuditAction.RETENTION_PURGE).exists()

    # The daily task, as beat sends it.
    with time_machine.travel(at(366), tick=True):
        assert tasks.purge_due() == {"purged": [order.pk], "failed": []}

    # The files are gone from storage, and the pages say so instead of linking to them.
    assert not any(path.exists() for path in files)
    job.refresh_from_db()
    export.refresh_from_db()
    assert (job.file.name, job.rejects_file.name, job.preview) == ("", "", [])
    assert job.files_removed_at is not None and export.removed_at is not None
    client.force_login(org.requester)
    detail = client.get(reverse("contacts:import_detail", args=[job.pk])).content.decode()
    assert 'data-testid="files-removed"' in detail and "rejects-link" not in detail
    assert client.get(reverse("contacts:import_rejects", args=[job.pk])).status_code == 404
    client.force_login(org.outbound_admin)
    page = client.get(reverse("reports:export_detail", args=[export.pk])).content.decode()
    assert 'data-testid="export-removed"' in page and "export-download" not in page
    assert client.get(reverse("reports:export_download", args=[export.pk])).status_code == 404
    assert (
        client.get(reverse("reports:export_status", args=[export.pk])).json()["download_url"]
        is None
    )
    # The recording is deleted at the carrier, and nobody is offered it any more.
    assert _audio_status(recording) == 404
    assert Recording.objects.get(sid=recording).status == Recording.Status.DELETED
    assert (
        client.get(
            reverse("recordings:audio", kwargs={"sid": recording, "format": "mp3"})
        ).status_code
        == 404
    )

    # No number, name or other column is left in the contact table (nor in the calls).
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, name, attributes FROM outbound_contact")
        rows = cursor.fetchall()
    assert len(rows) == 18
    text = json.dumps(rows, ensure_ascii=False)
    for number in numbers.values():
        assert number not in text and number[-8:] not in text
    assert "长沙" not in text and "C-000417" not in text
    assert all(phone.startswith("#") and len(phone) == 20 for phone, _n, _a in rows)
    assert {name for _p, name, _a in rows} == {""}
    assert not (names - {""}) & {name for _p, name, _a in rows}
    assert not CallAttempt.objects.filter(to__in=numbers.values()).exists()
    assert not SandboxCall.objects.filter(to__in=numbers.values()).exists()
    # Segments stay: the satisfaction index weights by them.
    assert order.contacts.exclude(brand="").count() == 18

    # The reports give the same figures, to the last character of the page.
    with time_machine.travel(at(367), tick=True):
        assert _results_page(client, org, order) == page_before
        page_after = client.get(reverse("campaign_reports:results", args=[order.pk]))
        assert 'data-testid="retention-removed"' in page_after.content.decode()
    assert _tallies() == tallies_before

    # The do-not-call list still matches: the opt-out blocks the number in a new campaign's
    # import, and the anonymised contact is found on the list through its hash.
    entry = DoNotCallEntry.objects.get(phone=numbers["c6"])
    c6 = Contact.objects.get(pk=contacts["c6"].pk)
    assert outbound_retention.do_not_call_entry(c6) == entry
    assert outbound_retention.do_not_call_entry(Contact.objects.get(pk=contacts["c1"].pk)) is None
    other = fx.make_campaign(org)
    assert excluded_e164(campaign=other, phones=[numbers["c6"]]) == {numbers["c6"]: "do_not_call"}
    # A number that shows up again is matched to its anonymised contact.
    found = Contact.objects.filter(phone__in=outbound_retention.phone_values(numbers["c6"]))
    assert list(found) == [c6]

    # The audit trail records the purge with its counts, never a number.
    [event] = AuditEvent.objects.filter(action=AuditAction.RETENTION_PURGE)
    assert event.user is None and event.target_id == str(order.pk)
    assert event.details["contacts_anonymised"] == 18
    assert event.details["imports_emptied"] == 1 and event.details["recordings_deleted"] == 1
    assert event.details["this_run"]["workbooks"] == 1
    assert event.details["this_run"]["files"] == 2
    assert not any(number[-8:] in json.dumps(event.details) for number in numbers.values())
    order.refresh_from_db()
    assert order.purged_at == at(366).replace(microsecond=0) or order.purged_at >= at(366)

    # The second run finds nothing to do.
    with time_machine.travel(at(400), tick=True):
        assert services.plan() == []
        assert tasks.purge_due() == {"purged": [], "failed": []}
        assert services.campaign_purge(campaign_id=order.pk) is None
    assert AuditEvent.objects.filter(action=AuditAction.RETENTION_PURGE).count() == 1
    # And the purged campaign takes no more contacts.
    upload = SimpleUploadedFile("again.csv", b"phone\n+8613900000001\n", "text/csv")
    with pytest.raises(contact_services.PermissionDenied):
        contact_services.import_create(campaign=order, user=org.outbound_admin, upload=upload)


def test_a_purge_stopped_half_way_is_finished_by_the_next_run(org, retention_settings, monkeypatch):
    """A crash after some batches leaves the campaign unmarked: the next run anonymises
    the rest, and the campaign is recorded once."""
    with time_machine.travel(STOPPED, tick=False):
        order = fx.make_campaign(org, phones=fx.phones(12))
        CampaignSettings.objects.filter(campaign=order).update(
            state=CampaignSettings.State.STOPPED, state_changed_at=timezone.now()
        )
    batches = []
    real = outbound_retention._anonymise_batch

    def crash_after_two(campaign_id, size, after):
        if len(batches) == 2:
            raise RuntimeError("the worker was killed")
        batches.append(size)
        return real(campaign_id, size, after)

    monkeypatch.setattr(outbound_retention, "_anonymise_batch", crash_after_two)
    with time_machine.travel(at(366), tick=True), pytest.raises(RuntimeError):
        tasks.purge_due()
    order.refresh_from_db()
    assert order.purged_at is None
    assert outbound_retention.contacts_left(order.pk).count() == 12 - 2 * 5
    monkeypatch.setattr(outbound_retention, "_anonymise_batch", real)
    with time_machine.travel(at(367), tick=True):
        [planned] = services.plan()
        assert planned.contacts == 2
        assert tasks.purge_due() == {"purged": [order.pk], "failed": []}
    assert outbound_retention.contacts_left(order.pk).count() == 0
    assert set(order.contacts.values_list("phone", flat=True)) == {
        outbound_retention.phone_hash(phone) for phone in fx.phones(12)
    }
    [event] = AuditEvent.objects.filter(action=AuditAction.RETENTION_PURGE)
    assert event.details["contacts_anonymised"] == 12
    assert event.details["this_run"]["contacts"] == 2


def test_each_kind_keeps_its_own_period(org, retention_settings):
    """A kind's period wins over its mode's, which wins over the default; 0 keeps the
    campaign for ever. Campaigns still running are never due."""
    retention_settings.WAIHU_RETENTION_DAYS = 365
    retention_settings.WAIHU_RETENTION_DAYS_BY_KIND = {"marketing": 30, "voice": 90, "agents": 0}
    kinds = {
        "marketing_voice": (WorkOrder.Kind.MARKETING, WorkOrder.Mode.VOICE),
        "satisfaction_voice": (WorkOrder.Kind.SATISFACTION, WorkOrder.Mode.VOICE),
        "satisfaction_agents": (WorkOrder.Kind.SATISFACTION, WorkOrder.Mode.AGENTS),
        "marketing_agents": (WorkOrder.Kind.MARKETING, WorkOrder.Mode.AGENTS),
    }
    orders = {}
    with time_machine.travel(STOPPED, tick=False):
        for name, (kind, mode) in kinds.items():
            orders[name] = fx.make_campaign(org, phones=fx.phones(1), kind=kind, mode=mode)
            CampaignSettings.objects.filter(campaign=orders[name]).update(
                state=CampaignSettings.State.STOPPED, state_changed_at=timezone.now()
            )
        running = fx.make_campaign(org, phones=fx.phones(1), kind=WorkOrder.Kind.MARKETING)
        CampaignSettings.objects.filter(campaign=running).update(
            state=CampaignSettings.State.RUNNING, state_changed_at=timezone.now()
        )

    def due(days):
        with time_machine.travel(at(days), tick=False):
            return {item.campaign_id for item in services.plan()}

    ids = {name: order.pk for name, order in orders.items()}
    assert due(29) == set()
    assert due(31) == {ids["marketing_voice"], ids["marketing_agents"]}
    assert due(91) == {ids["marketing_voice"], ids["marketing_agents"], ids["satisfaction_voice"]}
    # The agents' campaigns of other kinds are kept: 0 is for ever.
    assert ids["satisfaction_agents"] not in due(5000)
    assert running.pk not in due(5000)


def test_the_hash_is_keyed_and_fits_the_phone_column(settings):
    number = "+8613900000001"
    first = outbound_retention.phone_hash(number)
    assert first == outbound_retention.phone_hash(number)
    assert first.startswith("#") and len(first) == 20 and number not in first
    assert outbound_retention.phone_hash("+8613900000002") != first
    settings.WAIHU_RETENTION_KEY = "another-key-" + "k" * 40
    assert outbound_retention.phone_hash(number) != first


def test_the_command_refuses_a_bad_moment_and_plans_as_of_one(org, retention_settings):
    with time_machine.travel(STOPPED, tick=False):
        order = fx.make_campaign(org, phones=fx.phones(3))
        CampaignSettings.objects.filter(campaign=order).update(
            state=CampaignSettings.State.STOPPED, state_changed_at=timezone.now()
        )
    out = StringIO()
    call_command("retention", "--at", at(366).isoformat(), stdout=out)
    assert order.number in out.getvalue() and "3 contacts to anonymise" in out.getvalue()
    out = StringIO()
    call_command("retention", "--at", at(10).isoformat(), stdout=out)
    assert "No campaign is due" in out.getvalue()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--at"):
        call_command("retention", "--at", "next tuesday")
    assert order.contacts.filter(phone__startswith="#").count() == 0
    out = StringIO()
    with time_machine.travel(at(366), tick=True):
        call_command("retention", "--apply", stdout=out)
    assert "Purged 1 campaigns." in out.getvalue()
    assert order.contacts.filter(phone__startswith="#").count() == 3


@pytest.mark.worker
def test_the_beat_task_runs_on_a_bulk_worker(org, retention_settings, workers, settings):
    """The task beat sends goes to the bulk queues, and a real worker purges there."""
    # The worker's clock is the real one: the campaign stopped 400 days ago.
    order = fx.make_campaign(org, phones=fx.phones(4))
    CampaignSettings.objects.filter(campaign=order).update(
        state=CampaignSettings.State.STOPPED,
        state_changed_at=timezone.now() - datetime.timedelta(days=400),
    )
    job = ContactImport.objects.create(
        campaign=order,
        uploaded_by=org.outbound_admin,
        original_name="list.csv",
        file_format="csv",
        status=ContactImport.Status.DONE,
    )
    job.file.save("list.csv", ContentFile(b"phone\n+8613800000000\n"), save=True)
    path = Path(job.file.path)
    assert path.exists()
    workers.start(
        "bulk",
        {
            "WAIHU_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "WAIHU_RETENTION_KEY": settings.WAIHU_RETENTION_KEY,
        },
        concurrency=1,
        queues=("bulk",),
    )
    workers.wait_ready()
    tasks.purge_due.delay()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        order.refresh_from_db()
        if order.purged_at is not None:
            break
        time.sleep(0.3)
    assert order.purged_at is not None
    assert not path.exists()
    assert set(order.contacts.values_list("phone", flat=True)) == {
        outbound_retention.phone_hash(phone) for phone in fx.phones(4)
    }
    assert AuditEvent.objects.filter(
        action=AuditAction.RETENTION_PURGE, target_id=str(order.pk)
    ).exists()


def test_numbers_the_api_turned_away_are_hashed_too(org, retention_settings):
    """A pushed batch's stored outcome names the numbers it turned away; after the purge it
    names their hashes, and the same push again still returns that outcome."""
    from api.contacts import contacts_push
    from api.models import ContactBatch, Integration

    listed = "+8613700000001"
    with time_machine.travel(STOPPED - datetime.timedelta(days=2), tick=False):
        order = fx.make_campaign(org)
        contact_services.dnc_add(phone=listed, source=DoNotCallEntry.Source.MANUAL)
        crm = Integration.objects.create(name="crm")
        rows = [{"phone": "+8613700000002", "name": "张三"}, {"phone": listed}]
        outcome, replayed = contacts_push(integration=crm, campaign=order, key="k1", contacts=rows)
        assert not replayed and outcome["rejected"][0]["phone"] == listed
    with time_machine.travel(STOPPED, tick=False):
        CampaignSettings.objects.filter(campaign=order).update(
            state=CampaignSettings.State.STOPPED, state_changed_at=timezone.now()
        )
    with time_machine.travel(at(366), tick=True):
        assert tasks.purge_due() == {"purged": [order.pk], "failed": []}
        stored = ContactBatch.objects.get(campaign=order).outcome
        assert stored["rejected"][0]["phone"] == outbound_retention.phone_hash(listed)
        assert listed not in json.dumps(stored)
        again, replayed = contacts_push(integration=crm, campaign=order, key="k1", contacts=rows)
        assert replayed and listed not in json.dumps(again)
    assert order.contacts.get().name == ""


def test_the_system_administrators_see_the_plan(client, org, retention_settings):
    """A dry run on a page: the campaigns the next run removes and those coming due, for
    the system administrators (staff) only; opening it changes nothing."""
    from tests.factories import UserFactory

    with time_machine.travel(STOPPED, tick=False):
        due = fx.make_campaign(org, phones=fx.phones(3))
        soon = fx.make_campaign(org, phones=fx.phones(2, start=10))
        CampaignSettings.objects.filter(campaign=due).update(
            state=CampaignSettings.State.STOPPED, state_changed_at=timezone.now()
        )
        CampaignSettings.objects.filter(campaign=soon).update(
            state=CampaignSettings.State.STOPPED,
            state_changed_at=timezone.now() + datetime.timedelta(days=20),
        )
    staff = UserFactory(username="sysadmin", is_staff=True)
    with time_machine.travel(at(366), tick=True):
        client.force_login(org.outbound_admin)
        assert client.get(reverse("retention:plan")).status_code == 403
        client.force_login(staff)
        home = client.get(reverse("outbound:order_list")).content.decode()
        assert f'href="{reverse("retention:plan")}"' in home
        page = client.get(reverse("retention:plan")).content.decode()
    due_table, ahead_table = page.split('data-testid="retention-ahead"')
    assert (
        f'data-campaign="{due.pk}"' in due_table and f'data-campaign="{soon.pk}"' not in due_table
    )
    assert f'data-campaign="{soon.pk}"' in ahead_table and due.number in due_table
    assert '<td class="text-end" data-count="contacts">3</td>' in due_table
    assert due.contacts.filter(phone__startswith="#").count() == 0
    assert not AuditEvent.objects.filter(action=AuditAction.RETENTION_PURGE).exists()
