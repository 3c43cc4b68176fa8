"""A worker killed in the middle of an import: the campaign holds none of the list, and the
job is taken up by another worker and finishes by itself, with the exact count. Real Celery
workers against the test database and the configured broker; the test sends the sweep now
and then, as beat does every minute."""

import csv
import signal
import time

import pytest

from outbound.contacts.readers import open_table
from outbound.contacts.tasks import contact_import_run, contact_import_sweep
from outbound.models import Contact, ContactImport
from tests.factories import Org
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_contacts_import import ready_order

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

workers = fx.workers

ROWS = 60_000


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_a_killed_workers_import_finishes_by_itself(workers, tmp_path, settings):
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    path = media / "contact_imports" / "list.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "name"])
        writer.writerows([f"137{n:08d}", f"n{n}"] for n in range(ROWS))
    with open_table(str(path), "csv") as table:
        header, encoding = table.header, table.encoding
    campaign = ready_order(Org())
    job = ContactImport.objects.create(
        campaign=campaign,
        uploaded_by=campaign.requester,
        file="contact_imports/list.csv",
        original_name="list.csv",
        file_format="csv",
        encoding=encoding,
        header=header,
        mapping={"phone": 0, "name": 1},
        status=ContactImport.Status.QUEUED,
    )
    env = {
        "WAIHU_MEDIA_ROOT": str(media),
        "WAIHU_IMPORT_BATCH_ROWS": "500",
        "WAIHU_IMPORT_STALE_SECONDS": "10",
    }
    first = workers.start("bulk1", env, queues=("bulk",), concurrency=1)
    workers.wait_ready()
    contact_import_run.delay(job.pk)
    # The progress is written beside the staged rows (PostgreSQL: the import's own
    # transaction; SQLite: its connection's temporary table), so it shows while they wait.
    _wait_for(
        lambda: ContactImport.objects.filter(pk=job.pk, status="running", rows_read__gt=0).exists(),
        120,
        "the import was under way",
    )
    first.send_signal(signal.SIGKILL)
    first.wait()
    job.refresh_from_db()
    assert job.status == ContactImport.Status.RUNNING, "the import ended before the kill"
    assert job.rows_read < ROWS
    # Nothing of the half-read list is in the campaign.
    assert Contact.objects.filter(campaign=campaign).count() == 0

    workers.start("bulk2", env, queues=("bulk",), concurrency=1)
    workers.wait_ready()

    def finished():
        contact_import_sweep.delay()  # as beat would
        return ContactImport.objects.filter(
            pk=job.pk, status__in=("done", "failed")
        ).first() or time.sleep(2)

    done = _wait_for(finished, 180, "the job was taken up and finished")
    assert done.status == ContactImport.Status.DONE, done.error
    assert done.attempts == 2
    assert done.imported == ROWS == Contact.objects.filter(campaign=campaign).count()
