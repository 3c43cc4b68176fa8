"""The contact import end to end: upload, map, the real Celery task (eager), the counts, the
contacts stored and the rejected rows' workbook."""

import datetime
import io

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook, load_workbook

from outbound.contacts import services
from outbound.contacts.importer import RejectReason
from outbound.models import Contact, ContactImport, DoNotCallEntry, RedListEntry, WorkOrder
from outbound.services import order_submit
from tests.factories import Org, make_order

pytestmark = pytest.mark.django_db

HEADER = ["手机号码", "姓名", "品牌", "地市", "客户类型", "套餐", "反馈日期"]
ROWS = [
    ["13812345678", "张三", "全球通", "长沙", "高价值", "88元套餐", "2026-11-20"],
    ["+86 139 0000 0001", "李四", "动感地带", "株洲", "学生", "18元套餐", "2026/11/18"],
    ["0731-84123456", "王五", "神州行", "长沙", "", "", "2026年11月19日"],
    ["138-1234-5678", "张三again", "全球通", "长沙", "", "", "2026-11-20"],  # duplicate
    ["12345", "赵六", "", "", "", "", "2026-11-20"],  # invalid
    ["", "钱七", "", "", "", "", "2026-11-20"],  # missing
    ["１５０００００００１１", "孙八", "", "", "", "", ""],  # full-width; no feedback date
]
MAPPING = {"phone": 0, "name": 1, "brand": 2, "region": 3, "segment": 4}


def csv_upload(rows=ROWS, header=HEADER, encoding="gb18030", name="名单.csv"):
    text = "\r\n".join(",".join(row) for row in [header, *rows]) + "\r\n"
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def ready_order(org, **overrides):
    order = make_order(org.requester, **overrides)
    order_submit(order=order, user=org.requester)
    WorkOrder.objects.filter(pk=order.pk).update(run_status=WorkOrder.RunStatus.READY)
    order.refresh_from_db()
    return order


@pytest.fixture
def org():
    return Org()


@pytest.fixture
def campaign(org):
    return ready_order(org)


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def uploaded(campaign, user, upload):
    """An uploaded list once a worker has read its columns (the task the upload sends
    when it commits)."""
    job = services.import_create(campaign=campaign, user=user, upload=upload)
    services.import_inspect(import_id=job.pk)
    job.refresh_from_db()
    return job


def run_import(user, campaign, upload, mapping, capture, deadline_days=7):
    job = uploaded(campaign, user, upload)
    with capture(execute=True):
        services.import_start(job=job, user=user, mapping=mapping, deadline_days=deadline_days)
    job.refresh_from_db()
    return job


def label(reason) -> str:
    """A reason as the uploader (English in the factories) reads it in the workbook."""
    with translation.override("en"):
        return str(reason.label)


def rejects_of(job):
    with job.rejects_file.open("rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read())).active
        return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_upload_reads_header_encoding_and_preview(org, campaign, media):
    job = uploaded(campaign, org.outbound_admin, csv_upload())
    assert job.status == ContactImport.Status.UPLOADED
    assert job.encoding == "gb18030"
    assert job.header == HEADER
    assert job.preview[0][:2] == ["13812345678", "张三"]
    assert len(job.preview) == len(ROWS)
    assert services.guess_mapping(job.header) == {
        "phone": 0,
        "name": 1,
        "brand": 2,
        "region": 3,
        "segment": 4,
        "feedback_date": 6,
    }


def test_import_end_to_end(org, campaign, media, capture):
    job = run_import(org.outbound_admin, campaign, csv_upload(), MAPPING, capture)
    assert job.status == ContactImport.Status.DONE, job.error
    assert job.progress == 1.0
    assert (job.rows_read, job.imported, job.duplicates_in_file, job.invalid) == (7, 4, 1, 2)
    assert job.excluded == 0
    phones = dict(Contact.objects.filter(campaign=campaign).values_list("phone", "name"))
    assert phones == {
        "+8613812345678": "张三",
        "+8613900000001": "李四",
        "+8673184123456": "王五",
        "+8615000000011": "孙八",
    }
    first = Contact.objects.get(campaign=campaign, phone="+8613812345678")
    assert (first.brand, first.region, first.segment) == ("全球通", "长沙", "高价值")
    # Unmapped columns are kept as attributes, by their header.
    assert first.attributes == {"套餐": "88元套餐", "反馈日期": "2026-11-20"}
    assert first.source_import == job
    assert first.deadline is None

    rejected = rejects_of(job)
    assert rejected[0] == [*HEADER, "Row number", "Reason"]
    reasons = {row[1]: row[-1] for row in rejected[1:]}
    assert reasons == {
        # The header is row 1 of the file, 张三 row 2.
        "张三again": "Duplicate of row 2",
        "赵六": label(RejectReason.INVALID_PHONE),
        "钱七": label(RejectReason.MISSING_PHONE),
    }
    # The rejected rows are the list's own rows, with their row in the file.
    assert ["12345", "赵六", None, None, None, None, "2026-11-20", 6] in [r[:-1] for r in rejected]


def test_second_import_merges_with_the_campaign(org, campaign, media, capture):
    run_import(org.requester, campaign, csv_upload(), MAPPING, capture)
    rows = [["13812345678", "again"], ["13700000002", "new"], ["13700000002", "twice"]]
    second = run_import(
        org.requester,
        campaign,
        csv_upload(rows=rows, header=["phone", "name"], encoding="utf-8"),
        {"phone": 0, "name": 1},
        capture,
    )
    assert second.status == ContactImport.Status.DONE
    assert (second.imported, second.duplicates_in_campaign, second.duplicates_in_file) == (1, 1, 1)
    assert second.duplicates == 2
    assert Contact.objects.filter(campaign=campaign).count() == 5
    assert Contact.objects.get(campaign=campaign, phone="+8613812345678").name == "张三"
    reasons = {row[1]: row[-1] for row in rejects_of(second)[1:]}
    assert reasons == {
        "again": label(RejectReason.ALREADY_IN_CAMPAIGN),
        "twice": "Duplicate of row 3",
    }


def test_the_same_number_in_another_campaign_is_imported(org, campaign, media, capture):
    other = ready_order(org, title="Another")
    run_import(org.requester, campaign, csv_upload(), MAPPING, capture)
    job = run_import(org.requester, other, csv_upload(), MAPPING, capture)
    assert job.imported == 4
    assert Contact.objects.filter(phone="+8613812345678").count() == 2


def test_do_not_call_and_red_list_exclude(org, campaign, media, capture):
    other = ready_order(org, title="Another")
    services.dnc_add(phone="13812345678", reason="refused", source="manual")
    services.dnc_add(
        phone="139 0000 0001", reason="this campaign", source="call", campaign=campaign
    )
    services.dnc_add(phone="15000000011", reason="elsewhere only", source="call", campaign=other)
    today = datetime.date(2026, 11, 22)
    services.red_list_add(
        phone="0731-84123456",
        customer_name="王五",
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today + datetime.timedelta(days=30),
    )
    with time_machine.travel(datetime.datetime(2026, 11, 22, 10, tzinfo=datetime.UTC), tick=False):
        job = run_import(org.outbound_admin, campaign, csv_upload(), MAPPING, capture)
    assert (job.excluded_dnc, job.excluded_red_list, job.imported) == (2, 1, 1)
    assert list(Contact.objects.filter(campaign=campaign).values_list("phone", flat=True)) == [
        "+8615000000011"
    ]
    reasons = {row[1]: row[-1] for row in rejects_of(job)[1:]}
    assert reasons["张三"] == label(RejectReason.DO_NOT_CALL)
    assert reasons["李四"] == label(RejectReason.DO_NOT_CALL)
    assert reasons["王五"] == label(RejectReason.RED_LIST)
    # The later duplicate of an excluded number is still counted as a duplicate.
    assert reasons["张三again"] == "Duplicate of row 2"


def test_an_expired_red_list_entry_no_longer_excludes(org, campaign, media, capture):
    services.red_list_add(
        phone="0731-84123456",
        starts_on=datetime.date(2025, 12, 1),
        ends_on=datetime.date(2026, 11, 30),
    )
    with time_machine.travel(datetime.datetime(2026, 12, 1, 10, tzinfo=datetime.UTC), tick=False):
        job = run_import(org.outbound_admin, campaign, csv_upload(), MAPPING, capture)
    assert job.excluded_red_list == 0
    assert Contact.objects.filter(campaign=campaign, phone="+8673184123456").exists()


def test_complaint_callback_deadline_from_the_feedback_date(org, media, capture):
    campaign = ready_order(org, kind=WorkOrder.Kind.COMPLAINT_CALLBACK)
    job = uploaded(campaign, org.requester, csv_upload())
    with pytest.raises(ValidationError) as error:
        services.import_start(job=job, user=org.requester, mapping=MAPPING, deadline_days=7)
    assert "feedback_date" in error.value.message_dict
    with capture(execute=True):
        services.import_start(
            job=job, user=org.requester, mapping={**MAPPING, "feedback_date": 6}, deadline_days=7
        )
    job.refresh_from_db()
    deadlines = dict(Contact.objects.filter(campaign=campaign).values_list("phone", "deadline"))
    assert deadlines == {
        "+8613812345678": datetime.date(2026, 11, 27),
        "+8613900000001": datetime.date(2026, 11, 25),
        "+8673184123456": datetime.date(2026, 11, 26),
    }
    # The row without a feedback date cannot be called back in time: it is rejected.
    reasons = {row[1]: row[-1] for row in rejects_of(job)[1:]}
    assert reasons["孙八"] == label(RejectReason.BAD_DATE)
    assert job.invalid == 3


def test_deadline_days_and_a_deadline_column(org, media, capture):
    campaign = ready_order(org, kind=WorkOrder.Kind.COMPLAINT_CALLBACK)
    rows = [["13812345678", "2026-11-20"]]
    job = run_import(
        org.requester,
        campaign,
        csv_upload(rows=rows, header=["phone", "feedback"], encoding="utf-8"),
        {"phone": 0, "feedback_date": 1},
        capture,
        deadline_days=3,
    )
    assert Contact.objects.get(source_import=job).deadline == datetime.date(2026, 11, 23)
    job = run_import(
        org.requester,
        campaign,
        csv_upload(
            rows=[["13900000000", "2026-12-01"]], header=["phone", "截止"], encoding="utf-8"
        ),
        {"phone": 0, "deadline": 1},
        capture,
    )
    assert Contact.objects.get(source_import=job).deadline == datetime.date(2026, 12, 1)


def test_xlsx_import(org, campaign, media, capture):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["号码", "姓名", "入网时间"])
    sheet.append([13812345678, "张三", datetime.datetime(2020, 5, 1)])
    sheet.append(['=HYPERLINK("x")', "坏人", None])
    sheet.append(["0731 8412 3456", "李四", datetime.datetime(2021, 6, 1, 8, 30)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("list.xlsx", buffer.getvalue())
    job = run_import(org.requester, campaign, upload, {"phone": 0, "name": 1}, capture)
    assert (job.rows_read, job.imported, job.invalid) == (3, 2, 1)
    contact = Contact.objects.get(campaign=campaign, phone="+8613812345678")
    assert contact.attributes == {"入网时间": "2020-05-01"}
    assert Contact.objects.get(phone="+8673184123456").attributes == {
        "入网时间": "2021-06-01 08:30:00"
    }


def test_an_unreadable_upload_is_refused(org, campaign, media):
    job = uploaded(campaign, org.requester, SimpleUploadedFile("list.xlsx", b"not a workbook"))
    assert job.status == ContactImport.Status.FAILED
    assert "not an Excel workbook" in job.error
    # Nothing of a refused list is kept.
    assert not job.file
    assert not list((media / "contact_imports").rglob("*.xlsx"))
    with pytest.raises(ValidationError):
        services.import_create(
            campaign=campaign, user=org.requester, upload=SimpleUploadedFile("list.pdf", b"%PDF")
        )
    assert ContactImport.objects.count() == 1


def test_who_may_import(org, media):
    campaign = ready_order(org)
    for user in (org.cs_leader, org.agent, org.other_requester):
        with pytest.raises(PermissionDenied):
            services.import_create(campaign=campaign, user=user, upload=csv_upload())
    draft = make_order(org.requester)
    with pytest.raises(PermissionDenied):
        services.import_create(campaign=draft, user=org.requester, upload=csv_upload())


def test_mapping_is_validated(org, campaign, media):
    job = uploaded(campaign, org.requester, csv_upload())
    for mapping, field in [
        ({"name": 1}, "phone"),
        ({"phone": 0, "name": 0}, "name"),
        ({"phone": 0, "name": 99}, "name"),
    ]:
        with pytest.raises(ValidationError) as error:
            services.import_start(job=job, user=org.requester, mapping=mapping, deadline_days=7)
        assert field in error.value.message_dict


def test_a_job_runs_once(org, campaign, media, capture):
    job = run_import(org.requester, campaign, csv_upload(), MAPPING, capture)
    assert services.import_run(import_id=job.pk) is None
    with pytest.raises(ValidationError):
        services.import_start(job=job, user=org.requester, mapping=MAPPING, deadline_days=7)
    assert Contact.objects.filter(campaign=campaign).count() == 4


def test_a_failing_job_is_marked_failed(org, campaign, media, capture):
    job = uploaded(campaign, org.requester, csv_upload())
    job.file.storage.delete(job.file.name)
    with capture(execute=True):
        services.import_start(job=job, user=org.requester, mapping=MAPPING, deadline_days=7)
    job.refresh_from_db()
    assert job.status == ContactImport.Status.FAILED
    assert job.error
    assert job.finished_at is not None


def test_large_list_streams_in_batches_and_reports_progress(
    org, campaign, media, capture, monkeypatch, settings
):
    from outbound.contacts import importer

    settings.WAIHU_IMPORT_BATCH_ROWS = 100
    monkeypatch.setattr(importer, "REPORT_SECONDS", -1)
    seen = []
    original = services.import_into_job

    rows = [[f"137{n:08d}", f"n{n}"] for n in range(1000)]
    rows += [[f"137{n:08d}", "dup"] for n in range(50)]
    job = uploaded(
        campaign, org.requester, csv_upload(rows=rows, header=["phone", "name"], encoding="utf-8")
    )

    def spy(job, *, report, publish, **kwargs):
        def reported(counts, progress):
            report(counts, progress)
            row = ContactImport.objects.values("rows_read", "progress", "imported").get(pk=job.pk)
            seen.append(row)

        return original(job, report=reported, publish=publish, **kwargs)

    monkeypatch.setattr(services, "import_into_job", spy)
    with capture(execute=True):
        services.import_start(job=job, user=org.requester, mapping={"phone": 0}, deadline_days=7)
    job.refresh_from_db()
    assert (job.rows_read, job.imported, job.duplicates_in_file) == (1050, 1000, 50)
    progress = [row["rows_read"] for row in seen]
    assert progress == sorted(progress)
    assert len({p for p in progress if 0 < p < 1050}) >= 5
    # Nothing counts as imported before the whole list is published.
    assert {row["imported"] for row in seen} == {0}


def test_dnc_and_red_list_entries_are_unique_and_soft_deleted(org, campaign):
    first = services.dnc_add(phone="13812345678", reason="refused", source="manual")
    again = services.dnc_add(phone="+86 138 1234 5678", reason="again", source="call")
    assert first.pk == again.pk
    scoped = services.dnc_add(phone="13812345678", source="call", campaign=campaign)
    assert scoped.pk != first.pk
    assert services.dnc_remove(entry=first, user=org.outbound_admin)
    assert not services.dnc_remove(entry=first, user=org.outbound_admin)
    first.refresh_from_db()
    assert first.removed_by == org.outbound_admin
    assert DoNotCallEntry.objects.filter(phone="+8613812345678").count() == 2
    renewed = services.dnc_add(phone="13812345678", source="upload")
    assert renewed.pk != first.pk
    with pytest.raises(ValidationError):
        services.dnc_add(phone="12345", source="manual")


def test_red_list_at_most_one_year(org):
    start = datetime.date(2026, 3, 1)
    services.red_list_add(phone="13812345678", starts_on=start, ends_on=datetime.date(2027, 3, 1))
    with pytest.raises(ValidationError):
        services.red_list_add(
            phone="13812345678", starts_on=start, ends_on=datetime.date(2027, 3, 2)
        )
    with pytest.raises(ValidationError):
        services.red_list_add(
            phone="13812345678", starts_on=start, ends_on=datetime.date(2026, 2, 1)
        )
    leap = datetime.date(2028, 2, 29)
    services.red_list_add(phone="13812345678", starts_on=leap, ends_on=datetime.date(2029, 2, 28))
    with pytest.raises(ValidationError):
        services.red_list_add(
            phone="13812345678", starts_on=leap, ends_on=datetime.date(2029, 3, 1)
        )


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [
        (datetime.date(2026, 3, 1), datetime.date(2027, 3, 2)),
        (datetime.date(2026, 3, 1), datetime.date(2026, 2, 28)),
        (datetime.date(2026, 12, 31), datetime.date(2028, 1, 1)),
    ],
)
def test_the_database_refuses_a_red_list_period_over_a_year(starts_on, ends_on):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        RedListEntry.objects.create(phone="+8613812345678", starts_on=starts_on, ends_on=ends_on)
    RedListEntry.objects.create(
        phone="+8613812345678", starts_on=starts_on, ends_on=services.one_year_after(starts_on)
    )


@pytest.mark.django_db(transaction=True)
def test_import_outside_a_transaction(media, settings):
    """As in a worker: on PostgreSQL the rows are stored by a thread on its own connection
    while the next ones are read."""
    settings.WAIHU_IMPORT_BATCH_ROWS = 100
    org = Org()
    campaign = ready_order(org)
    services.dnc_add(phone="13700000005", source="manual")
    rows = [[f"137{n:08d}", f"n{n}"] for n in range(2000)] + [["13700000001", "again"]]
    job = uploaded(
        campaign, org.requester, csv_upload(rows=rows, header=["phone", "name"], encoding="utf-8")
    )
    services.import_start(job=job, user=org.requester, mapping={"phone": 0}, deadline_days=7)
    job.refresh_from_db()
    assert job.status == ContactImport.Status.DONE, job.error
    assert (job.imported, job.duplicates_in_file, job.excluded_dnc) == (1999, 1, 1)
    assert Contact.objects.filter(campaign=campaign).count() == 1999
    assert job.rejects_file


@pytest.mark.django_db(transaction=True)
def test_a_storage_error_fails_the_job(media, monkeypatch, settings):
    from outbound.contacts import importer

    settings.WAIHU_IMPORT_BATCH_ROWS = 2

    def broken(self, rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer._PostgresWriter, "_store", broken)
    monkeypatch.setattr(importer._SqliteWriter, "_store", broken)
    org = Org()
    campaign = ready_order(org)
    job = uploaded(campaign, org.requester, csv_upload())
    services.import_start(job=job, user=org.requester, mapping=MAPPING, deadline_days=7)
    job.refresh_from_db()
    assert job.status == ContactImport.Status.FAILED
    assert not Contact.objects.exists()
    assert not importer.rejects_spool_path(job).exists()


def test_a_number_added_meanwhile_is_counted_not_doubled(
    org, campaign, media, capture, monkeypatch
):
    """Another import (or the dialer) stores one of the numbers after this import looked
    at the campaign: the database's unique constraint has the last word."""
    from outbound.contacts import rules

    original = rules.excluded_e164

    def meanwhile(**kwargs):
        if not Contact.objects.filter(phone="+8613900000001").exists():
            Contact.objects.create(campaign=campaign, phone="+8613900000001", name="first")
        return original(**kwargs)

    monkeypatch.setattr(rules, "excluded_e164", meanwhile)
    job = run_import(org.requester, campaign, csv_upload(), MAPPING, capture)
    assert job.status == ContactImport.Status.DONE, job.error
    assert (job.imported, job.duplicates_in_campaign) == (3, 1)
    assert Contact.objects.filter(campaign=campaign).count() == 4
    assert Contact.objects.get(phone="+8613900000001").name == "first"
