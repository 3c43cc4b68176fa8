"""A contact import is all or nothing, is taken up again when its worker dies, and refuses
hostile files with a clear message: in the worker, never in the upload request, with
nothing of the list left in the campaign."""

import datetime
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from outbound.contacts import importer, services
from outbound.models import Contact, ContactImport
from tests.factories import Org
from tests.outbound.test_contacts_import import ready_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return Org()


@pytest.fixture
def campaign(org):
    return ready_order(org)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def csv_bytes(rows, header=("phone", "name"), encoding="utf-8") -> bytes:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def phones(count: int, start: int = 0) -> list[list[str]]:
    return [[f"137{n:08d}", f"n{n}"] for n in range(start, start + count)]


def uploaded(campaign, user, data: bytes, name="list.csv") -> ContactImport:
    """The upload, then what its task does once the upload commits."""
    job = services.import_create(
        campaign=campaign, user=user, upload=SimpleUploadedFile(name, data)
    )
    services.import_inspect(import_id=job.pk)
    job.refresh_from_db()
    return job


def imported(org, campaign, data: bytes, name="list.csv", mapping=None) -> ContactImport:
    job = uploaded(campaign, org.requester, data, name)
    assert job.status == ContactImport.Status.UPLOADED, job.error
    services.import_start(
        job=job, user=org.requester, mapping=mapping or {"phone": 0}, deadline_days=7
    )
    services.import_run(import_id=job.pk)
    job.refresh_from_db()
    return job


def held(campaign) -> int:
    return Contact.objects.filter(campaign=campaign).count()


def xlsx_bytes(sheet_rows: str, strings: list[str] | None = None, extra: dict | None = None):
    """A minimal workbook written by hand, so that it can be as odd as a test needs."""
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
            '<Relationship Id="rId2" Target="sharedStrings.xml" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{sheet_rows}</sheetData></worksheet>"
        ),
    }
    if strings is not None:
        items = "".join(f"<si><t>{text}</t></si>" for text in strings)
        parts["xl/sharedStrings.xml"] = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"{items}</sst>"
        )
    parts.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def inline_row(number: int, cells: list[str]) -> str:
    body = "".join(f'<c t="inlineStr"><is><t>{cell}</t></is></c>' for cell in cells)
    return f'<row r="{number}">{body}</row>'


# --- all or nothing ------------------------------------------------------------------------


@pytest.mark.parametrize("transactional", [False, True])
def test_a_bad_row_deep_in_the_list_leaves_no_contact(
    org, campaign, settings, transactional, request
):
    """Two batches are staged before row 252 turns out to hold a cell over the limit: the
    job fails naming the row and the limit, and the campaign holds none of the list."""
    if transactional:
        # As in a worker: on PostgreSQL the batches go through a connection of their own.
        request.getfixturevalue("transactional_db")
    settings.WAIHU_IMPORT_BATCH_ROWS = 100
    settings.WAIHU_IMPORT_MAX_CELL_CHARS = 1000
    rows = [*phones(250), ["13900000001", "x" * 1001], *phones(100, start=500)]
    job = imported(org, campaign, csv_bytes(rows))
    assert job.status == ContactImport.Status.FAILED
    assert job.error_row == 252
    assert "row 252" in job.error
    assert "1,000 characters" in job.error
    assert (job.imported, held(campaign)) == (0, 0)
    assert not importer.rejects_spool_path(job).exists()


def test_the_counts_are_what_the_campaign_holds(org, campaign, settings):
    settings.WAIHU_IMPORT_BATCH_ROWS = 50
    rows = phones(300) + phones(20) + [["12345", "bad"]]
    job = imported(org, campaign, csv_bytes(rows))
    assert job.status == ContactImport.Status.DONE, job.error
    assert (job.imported, job.duplicates_in_file, job.invalid) == (300, 20, 1)
    assert Contact.objects.filter(source_import=job).count() == job.imported == held(campaign)


def test_a_run_taken_over_meanwhile_publishes_nothing(org, campaign, settings, monkeypatch):
    """A worker thought dead whose job was given to another run finds out when it is about
    to publish: its contacts are rolled back, the other run's job stands."""
    settings.WAIHU_IMPORT_BATCH_ROWS = 20
    job = uploaded(campaign, org.requester, csv_bytes(phones(100)))
    services.import_start(job=job, user=org.requester, mapping={"phone": 0}, deadline_days=7)
    original = services.import_into_job

    def taken_over(job, *, report, publish, **kwargs):
        ContactImport.objects.filter(pk=job.pk).update(attempts=job.attempts + 1)
        return original(job, report=report, publish=publish, **kwargs)

    monkeypatch.setattr(services, "import_into_job", taken_over)
    assert services.import_run(import_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == ContactImport.Status.RUNNING
    assert held(campaign) == 0


# --- a worker that dies ----------------------------------------------------------------------


def _stale(job, settings, *, attempts=1, left_behind=0):
    """The job as a worker killed mid-import leaves it: running, its heartbeat stopped and,
    from before imports were all or nothing, some of its contacts stored."""
    past = timezone.now() - datetime.timedelta(seconds=settings.WAIHU_IMPORT_STALE_SECONDS + 5)
    ContactImport.objects.filter(pk=job.pk).update(
        status=ContactImport.Status.RUNNING,
        heartbeat_at=past,
        started_at=past,
        attempts=attempts,
        rows_read=left_behind,
        progress=0.45,
    )
    Contact.objects.bulk_create(
        Contact(campaign=job.campaign, phone=f"+86{row[0]}", source_import=job)
        for row in phones(left_behind)
    )


def test_the_sweep_takes_up_a_job_whose_worker_died(
    org, campaign, settings, django_capture_on_commit_callbacks
):
    settings.WAIHU_IMPORT_BATCH_ROWS = 50
    job = uploaded(campaign, org.requester, csv_bytes([*phones(400), ["123", "bad"]]))
    services.import_start(job=job, user=org.requester, mapping={"phone": 0}, deadline_days=7)
    _stale(job, settings, left_behind=180)
    assert held(campaign) == 180
    with django_capture_on_commit_callbacks(execute=True):
        assert services.import_sweep() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert job.status == ContactImport.Status.DONE, job.error
    assert job.attempts == 2
    # Read again from the start: every number once, none counted as already there.
    assert (job.imported, job.duplicates_in_campaign, job.invalid) == (400, 0, 1)
    assert Contact.objects.filter(source_import=job).count() == 400 == held(campaign)
    # Nothing more to do.
    assert services.import_sweep() == {"requeued": 0, "failed": 0}


def test_the_redelivered_task_takes_up_only_a_stale_job(org, campaign, settings):
    job = uploaded(campaign, org.requester, csv_bytes(phones(30)))
    services.import_start(job=job, user=org.requester, mapping={"phone": 0}, deadline_days=7)
    ContactImport.objects.filter(pk=job.pk).update(
        status=ContactImport.Status.RUNNING, heartbeat_at=timezone.now(), attempts=1
    )
    # Its worker is alive: the job is left alone.
    assert services.import_run(import_id=job.pk) is None
    assert services.import_sweep() == {"requeued": 0, "failed": 0}
    _stale(job, settings, left_behind=10)
    done = services.import_run(import_id=job.pk)
    assert done.status == ContactImport.Status.DONE, done.error
    assert done.imported == 30 == held(campaign)


def test_a_job_interrupted_too_often_fails_and_rolls_back(org, campaign, settings):
    settings.WAIHU_IMPORT_MAX_ATTEMPTS = 2
    job = uploaded(campaign, org.requester, csv_bytes(phones(30)))
    services.import_start(job=job, user=org.requester, mapping={"phone": 0}, deadline_days=7)
    _stale(job, settings, attempts=2, left_behind=12)
    assert services.import_sweep() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == ContactImport.Status.FAILED
    assert "interrupted 2 times" in job.error
    assert (job.imported, held(campaign)) == (0, 0)


# --- hostile files ---------------------------------------------------------------------------


def test_the_upload_request_never_reads_the_file(client, org, campaign, monkeypatch):
    """A NUL byte in the header: the request stores the file and answers with the job at
    once; the worker refuses the list, says why, and keeps nothing of it."""

    def not_here(*args, **kwargs):
        raise AssertionError("the upload request read the file")

    client.force_login(org.requester)
    data = b"phone,na\x00me\r\n13812345678,a\r\n"
    with monkeypatch.context() as patched:
        patched.setattr(services, "open_table", not_here)
        response = client.post(
            reverse("contacts:import_upload", args=[campaign.pk]),
            {"file": SimpleUploadedFile("list.csv", data)},
        )
    assert response.status_code == 302
    job = ContactImport.objects.get()
    assert job.status == ContactImport.Status.READING
    services.import_inspect(import_id=job.pk)
    job.refresh_from_db()
    assert job.status == ContactImport.Status.FAILED
    assert job.error.startswith("Line 1 holds a NUL character")
    assert not job.file
    status = client.get(reverse("contacts:import_status", args=[job.pk])).json()
    assert status["finished"] is True
    assert "NUL" in status["error"]
    assert "NUL" in client.get(job.get_absolute_url()).content.decode()


def _refused(job, *words):
    assert job.status == ContactImport.Status.FAILED
    for word in words:
        assert word in job.error, job.error
    assert Contact.objects.filter(campaign=job.campaign).count() == 0
    return job


def test_a_nul_byte_deep_in_a_csv(org, campaign):
    rows = [*phones(300), ["13900000001", "a\x00b"]]
    job = _refused(uploaded(campaign, org.requester, csv_bytes(rows)), "Line 302", "NUL")
    assert job.error_row == 302


def test_a_csv_mixing_utf8_and_gbk_names_the_line(org, campaign):
    utf8 = csv_bytes([["13800000001", "张三"], ["13800000002", "李四"]])
    gbk = "13800000003,王五\r\n13800000004,赵六\r\n".encode("gb18030")
    job = _refused(uploaded(campaign, org.requester, utf8 + gbk), "Line 4", "mixes encodings")
    assert job.error_row == 4
    # Mostly GBK with UTF-8 lines: the first UTF-8 line is named.
    gbk_rows = [[f"137{n:08d}", "孙八"] for n in range(40)]
    utf8_rows = "".join(f"139{n:08d},钱七\r\n" for n in range(3)).encode()
    gbk_first = csv_bytes(gbk_rows, encoding="gb18030") + utf8_rows
    job = uploaded(campaign, org.requester, gbk_first)
    _refused(job, "Line 42", "UTF-8 but most of the file is in GBK")


def test_a_gbk_list_is_still_read_as_gbk(org, campaign):
    rows = [[f"137{n:08d}", name] for n, name in enumerate(["张三", "李四", "王五", "赵六"])]
    job = imported(org, campaign, csv_bytes(rows, encoding="gb18030"), mapping={"phone": 0})
    assert job.encoding == "gb18030"
    assert job.imported == 4
    assert Contact.objects.get(phone="+8613700000002").attributes == {"name": "王五"}


def test_a_cell_over_the_limit_names_the_row(org, campaign):
    # Past the csv module's own 131,072 characters, which used to end in "internal error".
    rows = [*phones(5), ["13900000001", "x" * 200_000]]
    job = _refused(uploaded(campaign, org.requester, csv_bytes(rows)), "row 7", "32,767")
    assert job.error_row == 7


def test_too_many_columns(org, campaign):
    header = [f"c{n}" for n in range(1000)]
    rows = [["13812345678"] + ["v"] * 999 for _ in range(3)]
    _refused(uploaded(campaign, org.requester, csv_bytes(rows, header)), "200 columns")
    cells = "".join(
        f'<c r="{_letters(n)}1" t="inlineStr"><is><t>c</t></is></c>' for n in range(300)
    )
    workbook = xlsx_bytes(f'<row r="1">{cells}</row>')
    _refused(uploaded(campaign, org.requester, workbook, "wide.xlsx"), "200 columns")


def _letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def test_too_many_rows(org, campaign, settings):
    settings.WAIHU_IMPORT_MAX_ROWS = 50
    settings.WAIHU_IMPORT_BATCH_ROWS = 20
    job = uploaded(campaign, org.requester, csv_bytes(phones(60)))
    # The first rows are read for the mapping; the limit is met in the import itself.
    services.import_start(job=job, user=org.requester, mapping={"phone": 0}, deadline_days=7)
    services.import_run(import_id=job.pk)
    job.refresh_from_db()
    _refused(job, "more than 50 rows")


def test_empty_rows_cost_nothing_and_count_for_nothing(org, campaign, settings):
    """A small workbook holding 200,000 empty rows after ten real ones imports the ten; the
    empty rows do not count towards the row limit."""
    settings.WAIHU_IMPORT_MAX_ROWS = 50
    rows = inline_row(1, ["phone", "name"])
    rows += "".join(inline_row(n + 2, [f"137{n:08d}", f"n{n}"]) for n in range(10))
    rows += "".join(f'<row r="{n}"/>' for n in range(12, 200_012))
    rows += "".join(f'<row r="{n}"><c r="A{n}" s="0"/></row>' for n in range(200_012, 201_000))
    job = imported(org, campaign, xlsx_bytes(rows), "empty.xlsx")
    assert job.status == ContactImport.Status.DONE, job.error
    assert (job.rows_read, job.imported) == (10, 10)


def test_more_rows_than_excel_holds(org, campaign):
    rows = inline_row(1, ["phone"]) + "<row></row>" * 1_048_576
    # Looking for the first rows to show, the worker reads on to the sheet's end.
    job = uploaded(campaign, org.requester, xlsx_bytes(rows), "tall.xlsx")
    _refused(job, "1,048,576 rows")
    # With rows to show, the import itself meets the limit.
    data = "".join(inline_row(n + 2, [f"137{n:08d}"]) for n in range(12))
    rows = inline_row(1, ["phone"]) + data + "<row></row>" * 1_048_576
    job = uploaded(campaign, org.requester, xlsx_bytes(rows), "tall.xlsx")
    services.import_start(job=job, user=org.requester, mapping={"phone": 0}, deadline_days=7)
    services.import_run(import_id=job.pk)
    job.refresh_from_db()
    _refused(job, "1,048,576 rows")


def test_shared_strings_that_expand_too_far(org, campaign, settings):
    settings.WAIHU_IMPORT_MAX_EXPANDED_MB = 1
    strings = ["phone", *(f"{n:06d}" + "x" * 2000 for n in range(600))]
    rows = '<row r="1"><c t="s"><v>0</v></c></row>'
    data = xlsx_bytes(rows, strings)
    assert len(data) < 100_000
    job = _refused(uploaded(campaign, org.requester, data, "bomb.xlsx"), "more than 1 MB")
    assert not job.file


def test_a_workbook_declaring_entities_is_refused(org, campaign):
    sheet = (
        '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData/></worksheet>"
    )
    data = xlsx_bytes("", extra={"xl/worksheets/sheet1.xml": sheet})
    _refused(uploaded(campaign, org.requester, data, "xxe.xlsx"), "document type declaration")


def test_a_shared_string_over_the_cell_limit(org, campaign, settings):
    settings.WAIHU_IMPORT_MAX_CELL_CHARS = 500
    data = xlsx_bytes('<row r="1"><c t="s"><v>0</v></c></row>', ["p" * 501])
    _refused(uploaded(campaign, org.requester, data, "long.xlsx"), "500 characters")


def test_the_rejects_workbook_stops_at_what_excel_opens(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "REJECTS_MAX_ROWS", 5)
    spool = importer.RejectsSpool(tmp_path / "spool.csv", 1)
    for n in range(8):
        spool.add([f"row{n}"], "invalid_phone")
    spool.close()
    target = tmp_path / "rejects.xlsx"
    assert importer.build_rejects_workbook(spool.path, ["phone"], target) == 5
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 5 + 1
    assert rows[-1][0].startswith("3 more rejected rows are left out")
