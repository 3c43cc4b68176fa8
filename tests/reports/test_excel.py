"""The workbook: every sheet, figures that agree with the tables, text never a formula,
masked phone numbers, LibreOffice opening it without repair, and the export job."""

import pytest
from django.utils import translation
from openpyxl import load_workbook

from reports.excel import workbook_write
from reports.privacy import mask_phone, mask_phones_in_text, mask_reference, may_see_phones
from reports.results import results_build
from tests.reports.data import demo_dataset
from tests.reports.libreoffice import sheet_rows

pytestmark = pytest.mark.django_db

SHEETS_AFTER_TABLES = ["Cross-tabs", "Data", "Data (labels)", "Codebook", "Open answers"]


def test_masking():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    assert mask_phone("073110086") == "073**0086"
    assert mask_phone("12") == "12"
    assert mask_phone("") == ""
    assert mask_phones_in_text("请打 13812345678 或 +86 139 8765 4321") == (
        "请打 138****5678 或 139****4321"
    )
    assert mask_reference("R00012") == "R00012"
    assert mask_reference("13912345678") == "139****5678"


def test_who_sees_phone_numbers(analyst, outbound_admin):
    assert may_see_phones(outbound_admin)
    assert not may_see_phones(analyst)


@pytest.fixture
def workbook(demo_version, tmp_path):
    taken = demo_dataset(demo_version, count=25)
    results = results_build(version=demo_version)
    path = tmp_path / "results.xlsx"
    q9 = results.questions[8]
    with translation.override("en"):
        workbook_write(
            results=results, target=path, crosstabs=[(q9.pk, f"q:{results.questions[0].pk}")]
        )
    return path, results, taken


def test_the_workbook_has_every_sheet_and_agrees_with_the_tables(workbook):
    path, results, taken = workbook
    book = load_workbook(path)
    assert book.sheetnames == ["Summary", *(f"Q{i}" for i in range(1, 16)), *SHEETS_AFTER_TABLES]
    q1 = book["Q1"]
    assert q1["A4"].value == "男"
    table = results.tables[0]
    assert q1["C4"].value == table.rows[0].count
    # The exact share, in a percent format (3/76 shows 3.9%, never a rounded 3.95 → 4.0).
    assert q1["D4"].value == pytest.approx(table.rows[0].count / table.valid)
    assert q1["D4"].number_format == "0.0%"
    # A native bar chart beside every closed question's table.
    assert [len(book[f"Q{i}"]._charts) for i in range(1, 16)] == [1] * 14 + [0]
    data = list(book["Data"].iter_rows(values_only=True))
    header = data[0]
    assert header[:6] == ("id", "reference", "status", "started_at", "finished_at", "agent")
    assert "Q6_1" in header and "Q6_9" in header and "Q15" in header
    assert len(data) == 1 + 25
    col = header.index("Q3")
    assert [row[col] for row in data[1:]] == [a["Q3"] for a in taken]
    col = header.index("Q2")
    assert [row[col] for row in data[1:]] == [
        -99 if a["Q2"] == "refused" else a["Q2"] for a in taken
    ]
    q6 = header.index("Q6_2")
    assert [row[q6] for row in data[1:]] == [int(2 in a["Q6"]) for a in taken]
    q7 = header.index("Q7")
    assert [row[q7] for row in data[1:]] == [a.get("Q7") for a in taken]
    labels = list(book["Data (labels)"].iter_rows(values_only=True))
    assert labels[1][labels[0].index("Q1")] in ("男", "女")
    codebook = list(book["Codebook"].iter_rows(values_only=True))
    assert any(r[0] == "Q6_9" and "1=" in r[4] for r in codebook)
    assert any(r[0] == "Q1" and "1=男; 2=女" in r[4] for r in codebook)
    summary = list(book["Summary"].iter_rows(values_only=True))
    assert ("Interviews in the tables", 25) in [tuple(r[:2]) for r in summary]


def test_answers_are_never_formulas_and_phones_are_masked(workbook):
    path, _results, taken = workbook
    book = load_workbook(path)
    cells = [c for row in book["Open answers"].iter_rows() for c in row]
    texts = {c.value for c in cells}
    if any(a["Q15"].startswith("=") for a in taken):
        formula_cells = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
        assert formula_cells and all(c.data_type == "s" for c in formula_cells)
    for row in book["Data"].iter_rows():
        for c in row:
            assert c.data_type != "f"
    assert not any("13812345678" in str(t) or "1234 5678" in str(t) for t in texts)
    assert any("138****5678" in str(t) for t in texts)


def test_libreoffice_opens_the_workbook(workbook):
    path, _results, taken = workbook
    # The data sheet is the 17th (Summary, fifteen questions, Cross-tabs, Data).
    rows = sheet_rows(path, 1 + 15 + 2)
    assert rows[0][:3] == ["id", "reference", "status"]
    assert len(rows) == 26
    q3 = rows[0].index("Q3")
    assert [int(r[q3]) for r in rows[1:]] == [a["Q3"] for a in taken]


def test_export_job_through_the_pages(
    client, demo_version, analyst, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    demo_dataset(demo_version, count=8)
    client.force_login(analyst)
    assert client.get(f"/reports/versions/{demo_version.pk}/exports/").status_code == 405
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = client.post(
            f"/reports/versions/{demo_version.pk}/exports/", {"statuses": "completed"}
        )
    assert started.status_code == 302
    from reports.models import ExportJob

    job = ExportJob.objects.get()
    assert client.get(f"/reports/exports/{job.pk}/status/").json()["status"] == "queued"
    assert client.get(started.url).status_code == 200
    for callback in queued:
        callback()
    status = client.get(f"/reports/exports/{job.pk}/status/").json()
    assert status["status"] == "done", status
    assert status["progress"] == 100
    download = client.get(status["download_url"])
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    target = tmp_path / "got.xlsx"
    target.write_bytes(content)
    assert "Data" in load_workbook(target, read_only=True).sheetnames
    # Someone else's job is not theirs to see.
    from accounts.roles import Role
    from tests.factories import UserFactory

    other = UserFactory(username="analyst2", roles=[Role.ANALYST])
    client.force_login(other)
    assert client.get(f"/reports/exports/{job.pk}/").status_code == 404
