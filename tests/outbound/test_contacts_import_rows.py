"""A rejected row is named by its row in the user's spreadsheet: a duplicate says which
earlier row it repeats, and a workbook's formula whose result was never saved turns its row
away naming the column, rather than importing it empty."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from outbound.contacts.importer import build_rejects_workbook
from outbound.contacts.rules import RejectReason
from outbound.models import Contact, ContactImport
from tests.outbound import test_contacts_import as base
from tests.outbound.test_contacts_import import label, rejects_of, run_import
from tests.outbound.test_contacts_import_safety import xlsx_bytes
from tests.outbound.test_contacts_views import login

pytestmark = pytest.mark.django_db

# The import tests' fixtures, used by name.
org, campaign, media, capture = base.org, base.campaign, base.media, base.capture

FORMULA_MESSAGE = (
    "Formula in column {column} has no saved value: open the file in Excel and save it again."
)


def test_a_duplicate_names_the_earlier_row_as_the_spreadsheet_numbers_it(
    org, campaign, media, capture, settings, client
):
    # Batches of two rows: the first of the numbers is in an earlier batch than its repeat.
    settings.WAIHU_IMPORT_BATCH_ROWS = 2
    text = (
        "phone,name,note\r\n"  # row 1
        "13812345678,张三,\r\n"  # row 2
        '13900000001,李四,"two\r\nlines"\r\n'  # row 3, one row over two lines
        "\r\n"  # row 4, empty: the spreadsheet shows it, the import skips it
        "13700000002,王五,\r\n"  # row 5
        "138 1234 5678,张三again,\r\n"  # row 6
        "+86 139 0000 0001,李四again,\r\n"  # row 7
        "13812345678,张三thrice,\r\n"  # row 8
    )
    upload = SimpleUploadedFile("list.csv", text.encode(), content_type="text/csv")
    job = run_import(org.requester, campaign, upload, {"phone": 0, "name": 1}, capture)
    assert job.status == ContactImport.Status.DONE, job.error
    assert (job.imported, job.duplicates_in_file) == (3, 3)
    rows = rejects_of(job)
    assert rows[0] == ["phone", "name", "note", "Row number", "Reason"]
    assert [(row[1], row[-2], row[-1]) for row in rows[1:]] == [
        ("张三again", 6, "Duplicate of row 2"),
        ("李四again", 7, "Duplicate of row 3"),
        ("张三thrice", 8, "Duplicate of row 2"),
    ]
    assert job.rejects_sample == [
        [6, "duplicate_in_file", 2],
        [7, "duplicate_in_file", 3],
        [8, "duplicate_in_file", 2],
    ]
    login(client, org.requester)
    page = client.get(reverse("contacts:import_detail", args=[job.pk])).content.decode()
    assert "<td>7</td><td>Duplicate of row 3</td>" in page
    # The page shows rows and reasons, never the rows' numbers.
    assert "13900000001" not in page


def test_a_workbook_row_keeps_its_number_past_rows_excel_left_out(org, campaign, media, capture):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["phone", "name"])
    sheet.append(["13812345678", "张三"])
    # Rows 3 to 9 are empty: Excel writes no element for them.
    sheet["A10"], sheet["B10"] = "13812345678", "again"
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("list.xlsx", buffer.getvalue())
    job = run_import(org.requester, campaign, upload, {"phone": 0, "name": 1}, capture)
    assert [row[-2:] for row in rejects_of(job)[1:]] == [[10, "Duplicate of row 2"]]


def _formula_workbook() -> bytes:
    """A workbook as openpyxl (and other programs that write without calculating) saves
    formulas: no result saved with them."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["phone", "name", "score"])
    sheet.append(["13812345678", "张三", 5])
    sheet.append(['="139"&"00000001"', "李四", 4])
    sheet.append(["13700000002", "王五", "=B2*2"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _not_plain(data: bytes) -> bytes:
    """The same workbook with a comment in its sheet, which has it read by the XML parser
    rather than the quick path."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"<sheetData>", b"<!-- odd --><sheetData>")
            target.writestr(item, content)
    return out.getvalue()


@pytest.mark.parametrize("shape", ["plain", "parsed"])
def test_a_formula_without_a_saved_value_turns_its_row_away(org, campaign, media, capture, shape):
    data = _formula_workbook()
    if shape == "parsed":
        data = _not_plain(data)
    upload = SimpleUploadedFile("list.xlsx", data)
    job = run_import(org.requester, campaign, upload, {"phone": 0, "name": 1}, capture)
    assert job.status == ContactImport.Status.DONE, job.error
    assert (job.rows_read, job.imported, job.invalid) == (3, 1, 2)
    assert list(Contact.objects.filter(campaign=campaign).values_list("name", flat=True)) == [
        "张三"
    ]
    reasons = {row[1]: (row[-2], row[-1]) for row in rejects_of(job)[1:]}
    assert reasons == {
        "李四": (3, FORMULA_MESSAGE.format(column="A (phone)")),
        # A formula in a column not mapped would have been kept empty on the contact.
        "王五": (4, FORMULA_MESSAGE.format(column="C (score)")),
    }
    assert [4, "formula_without_value", "C (score)"] in job.rejects_sample


def _cached(sheet_rows: str) -> bytes:
    return xlsx_bytes(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>phone</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>name</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>score</t></is></c></row>' + sheet_rows
    )


@pytest.mark.parametrize("comment", ["", "<!-- odd -->"])
def test_a_formula_with_its_saved_value_imports_the_value(org, campaign, media, capture, comment):
    data = _cached(
        comment + '<row r="2"><c r="A2" t="str"><f>"138"&amp;"12345678"</f><v>13812345678</v>'
        '</c><c r="B2" t="inlineStr"><is><t>张三</t></is></c><c r="C2"><f>1+1</f><v>2</v></c>'
        '</row><row r="3"><c r="A3"><f>13900000000+1</f><v>13900000001</v></c>'
        '<c r="B3" t="inlineStr"><is><t>李四</t></is></c>'
        # A formula whose result is empty text: saved, and empty.
        '<c r="C3" t="str"><f>""</f><v></v></c></row>'
    )
    upload = SimpleUploadedFile("list.xlsx", data)
    job = run_import(org.requester, campaign, upload, {"phone": 0, "name": 1}, capture)
    assert job.status == ContactImport.Status.DONE, job.error
    assert (job.imported, job.invalid) == (2, 0)
    contacts = dict(Contact.objects.filter(campaign=campaign).values_list("name", "attributes"))
    assert contacts == {"张三": {"score": "2"}, "李四": {}}
    assert Contact.objects.get(name="李四").phone == "+8613900000001"


def test_a_spool_written_before_rows_were_numbered_still_builds(tmp_path):
    # An import finished just before an upgrade leaves its rows with the reason alone.
    spool = tmp_path / "spool.csv"
    spool.write_text("13812345678,duplicate_in_file\r\n12345,invalid_phone\r\n")
    target = tmp_path / "rejects.xlsx"
    assert build_rejects_workbook(spool, ["phone"], target) == 2
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert rows[1:] == [
        ("13812345678", None, label(RejectReason.DUPLICATE_IN_FILE)),
        ("12345", None, label(RejectReason.INVALID_PHONE)),
    ]
