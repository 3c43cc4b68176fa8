"""With the broker down, submitting an order, starting a contact import and starting an
export still succeed: the work is recorded with the decision (the outbox) and handed to
the broker once it is back, by the sweep beat sends every 30 s; a real worker then sends the
order's e-mail once, and runs the import and the export once, however often they arrive.
The broker is a Redis of the test's own, stopped and started by the test."""

import datetime
import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalRequest
from approvals.tasks import send_request_email
from config.celery import app
from ops import outbox
from ops.models import OutboxMessage
from ops.tasks import outbox_sweep
from outbound.contacts import services as contact_services
from outbound.models import Contact, ContactImport, WorkOrder
from outbound.services import order_submit
from reports.models import ExportJob, ExportStatus
from tests.factories import Org, make_order
from tests.ops.private_redis import celery_broker, private_redis
from tests.outbound import test_dialer_fixtures as fx

workers = fx.workers
private_redis = private_redis  # the fixture, used by name

CSV = "phone,name\r\n13812345678,Zhang\r\n13812345679,Li\r\n12345,Bad\r\n"


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def _age_outbox(seconds: float = 60) -> None:
    """The rows waited this long (the sweep leaves a row a few seconds old to the commit
    handing it over)."""
    for message in OutboxMessage.objects.all():
        OutboxMessage.objects.filter(pk=message.pk).update(
            created_at=message.created_at - datetime.timedelta(seconds=seconds)
        )


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_decision_sends_nothing_and_a_down_broker_leaves_the_row_unsent(
    private_redis, settings
):
    org = Org()
    order = make_order(org.requester)
    with celery_broker(private_redis.url, settings):  # not started: refused at once
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox.enqueue(send_request_email, kind="step_started", request_id=1, step_id=2)
            raise RuntimeError("the decision failed")
        assert not OutboxMessage.objects.exists()

        submitted = order_submit(order=order, user=org.requester)
        assert submitted.approval.status == ApprovalRequest.Status.IN_PROGRESS
        (message,) = OutboxMessage.objects.all()
        assert message.task == send_request_email.name
        assert message.kwargs == {
            "kind": "step_started",
            "request_id": submitted.approval.pk,
            "step_id": submitted.approval.current_step_id,
        }
        assert message.sent_at is None and message.attempts == 1
        assert "OperationalError" in message.last_error

        # The sweep leaves a row just written to the commit handing it over...
        assert outbox.sweep() == 0
        message.refresh_from_db()
        assert message.attempts == 1
        # ...and tries an older one, oldest first, stopping at the first the broker refuses.
        _age_outbox()
        assert outbox.sweep() == 0
        message.refresh_from_db()
        assert message.attempts == 2 and message.sent_at is None
    assert outbox.unsent_count() == 1


def test_beat_sweeps_the_outbox_every_30_seconds():
    entry = app.conf.beat_schedule["ops-outbox-sweep"]
    assert entry["task"] == outbox_sweep.name
    assert entry["schedule"] <= 60


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_work_is_kept_and_done_once_when_it_is_back(
    private_redis, workers, settings, tmp_path
):
    media = tmp_path / "media"
    mail = tmp_path / "mail"
    mail.mkdir()
    settings.MEDIA_ROOT = media
    org = Org()
    order = make_order(org.requester)
    campaign = make_order(org.requester, title="Campaign with a list")
    order_submit(order=campaign, user=org.requester)  # the broker still up: inline
    WorkOrder.objects.filter(pk=campaign.pk).update(run_status=WorkOrder.RunStatus.READY)
    version = org.questionnaire

    admin = Client(headers={"accept-language": "en"})
    admin.force_login(org.outbound_admin)
    uploaded = admin.post(
        reverse("contacts:import_upload", args=[campaign.pk]),
        {"file": SimpleUploadedFile("list.csv", CSV.encode(), content_type="text/csv")},
    )
    assert uploaded.status_code == 302
    job = ContactImport.objects.get()
    # Its columns read as a worker would (no worker runs yet); the outbox starts empty.
    contact_services.import_inspect(import_id=job.pk)
    job.refresh_from_db()
    assert job.status == ContactImport.Status.UPLOADED
    OutboxMessage.objects.all().delete()

    with celery_broker(private_redis.url, settings):
        # The broker is down (the private Redis not started): every request succeeds.
        requester = Client(headers={"accept-language": "en"})
        requester.force_login(org.requester)
        response = requester.post(reverse("outbound:order_submit", args=[order.pk]))
        assert response.status_code == 302
        assert response["Location"] == order.get_absolute_url()
        assert order.approval.status == ApprovalRequest.Status.IN_PROGRESS

        response = admin.post(
            reverse("contacts:import_map", args=[job.pk]),
            {"phone": "0", "name": "1", "deadline_days": "7"},
        )
        assert response.status_code == 302 and response["Location"] == job.get_absolute_url()

        analyst = Client(headers={"accept-language": "en"})
        analyst.force_login(org.analyst)
        response = analyst.post(
            reverse("reports:export_start", args=[version.pk]), {"statuses": "completed"}
        )
        assert response.status_code == 302
        export = ExportJob.objects.get()

        waiting = OutboxMessage.objects.order_by("pk")
        assert [m.task for m in waiting] == [
            send_request_email.name,
            "outbound.contacts.import_run",
            "reports.tasks.export_build_task",
        ]
        assert all(m.sent_at is None and m.last_error for m in waiting)
        job.refresh_from_db()
        assert job.status == ContactImport.Status.QUEUED
        assert ExportJob.objects.get().status == ExportStatus.QUEUED

        # The broker comes back, a worker with it; beat's next sweep hands the work over.
        private_redis.start()
        workers.start(
            "back",
            {"EMAIL_URL": f"file://{mail}", "WAIHU_MEDIA_ROOT": str(media)},
            concurrency=2,
        )
        workers.wait_ready()
        _age_outbox()
        outbox_sweep.apply_async()  # as beat sends it

        _wait_for(
            lambda: not OutboxMessage.objects.filter(sent_at=None).exists(), 60, "all handed over"
        )
        _wait_for(
            lambda: ContactImport.objects.filter(pk=job.pk, status="done").exists(),
            60,
            "the import ran",
        )
        _wait_for(
            lambda: ExportJob.objects.filter(pk=export.pk, status=ExportStatus.DONE).exists(),
            60,
            "the export ran",
        )
        email = OutboxMessage.objects.get(task=send_request_email.name)
        _wait_for(
            lambda: OutboxMessage.objects.filter(pk=email.pk, done_at__isnull=False).exists(),
            60,
            "the e-mail was sent",
        )

        def sent_to_leader() -> int:
            text = "".join(path.read_text() for path in mail.iterdir())
            return len(re.findall(r"^To: leader@example\.com$", text, re.MULTILINE))

        assert sent_to_leader() == 1
        imported = Contact.objects.filter(campaign=campaign).count()
        assert imported == 2

        # The same messages delivered again (the broker redelivering, a second sweep after
        # the database lost the mark): nothing is done twice.
        for message in OutboxMessage.objects.all():
            app.tasks[message.task].apply_async(
                message.args, message.kwargs, task_id=message.task_id
            )
        log = workers.folder / "worker-back.log"
        _wait_for(
            lambda: all(
                len(re.findall(rf"\[{m.task_id}\] succeeded", log.read_text(errors="replace"))) >= 2
                for m in OutboxMessage.objects.all()
            ),
            60,
            "the second deliveries ran",
        )
        assert sent_to_leader() == 1
        assert Contact.objects.filter(campaign=campaign).count() == imported
        assert ExportJob.objects.filter(status=ExportStatus.DONE).count() == 1
