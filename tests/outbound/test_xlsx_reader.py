"""Reading .xlsx lists as they stream out of the archive: workbooks saved by openpyxl, by
Excel (shared strings, styles, namespace prefixes, Strict OOXML) and by the benchmark's own
writer, damaged files, and the proof that rows come before the sheet is read through."""

import datetime
import re
import zipfile

import pytest
from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from outbound.contacts.readers import UnreadableFile, XlsxTable, cell_text, open_table
from tests.bench.bench_import import _XlsxWriter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_RELS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
NOT_A_WORKBOOK = "not an Excel workbook"
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'


def read(path) -> tuple[list[str], list[list]]:
    with open_table(path, "xlsx") as table:
        return table.header, list(table.rows())


def read_both_ways(path) -> list[list]:
    """Every row, read by the regular expressions and again by lxml: the two must agree."""
    table = XlsxTable(str(path))
    try:
        plain = list(table._read_rows())
        parsed = list(table._read_rows(plain=False))
    finally:
        table.close()
    assert plain == parsed
    return plain


def excel_workbook(
    path,
    sheet_data: str,
    *,
    strings: list[str] = (),
    styles: str = "",
    main: str = MAIN,
    rels: str = RELS,
    prefix: str = "",
    workbook_pr: str = "",
    sheets: tuple[tuple[str, str, str], ...] = (),
    declaration: str = DECLARATION,
):
    """A workbook laid out the way Excel saves one. `sheet_data` is the XML inside
    <sheetData>, written without prefixes; `prefix` adds one to every element, as some
    producers do. `sheets` are more (name, part, sheet data) after the first."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{main}"' if prefix else f'xmlns="{main}"'

    def prefixed(xml: str) -> str:
        return re.sub(r"<(/?)(\w)", rf"<\1{p}\2", xml) if prefix else xml

    def worksheet(data: str) -> str:
        return (
            f'{declaration}<{p}worksheet {xmlns} xmlns:r="{rels}">'
            f'<{p}dimension ref="A1:H9"/><{p}sheetViews><{p}sheetView workbookViewId="0"/>'
            f'</{p}sheetViews><{p}sheetFormatPr defaultRowHeight="15"/>'
            f'<{p}cols><{p}col min="1" max="1" width="14"/></{p}cols>'
            f"<{p}sheetData>{prefixed(data)}</{p}sheetData>"
            f'<{p}pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
            f'footer="0.3"/></{p}worksheet>'
        )

    all_sheets = (("Sheet1", "worksheets/sheet1.xml", sheet_data), *sheets)
    kind = rels.rsplit("/", 1)[0] + "/relationships/"
    parts = {
        "_rels/.rels": (
            f'{DECLARATION}<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
            f'Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'{DECLARATION}<{p}workbook {xmlns} xmlns:r="{rels}">'
            f"{prefixed(workbook_pr)}<{p}sheets>"
            + "".join(
                f'<{p}sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>'
                for n, (name, _part, _data) in enumerate(all_sheets, start=1)
            )
            + f"</{p}sheets></{p}workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{DECLARATION}<Relationships xmlns="{PACKAGE}">'
            + "".join(
                f'<Relationship Id="rId{n}" Type="{kind}worksheet" Target="{part}"/>'
                for n, (_name, part, _data) in enumerate(all_sheets, start=1)
            )
            + f'<Relationship Id="rId90" Type="{kind}sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId91" Type="{kind}styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/sharedStrings.xml": (
            f'{DECLARATION}<{p}sst {xmlns} count="{len(strings)}" uniqueCount="{len(strings)}">'
            + "".join(prefixed(item) for item in strings)
            + f"</{p}sst>"
        ),
        "xl/styles.xml": f"{DECLARATION}<{p}styleSheet {xmlns}>{prefixed(styles)}</{p}styleSheet>",
    }
    for _name, part, data in all_sheets:
        parts[f"xl/{part}"] = worksheet(data)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


# Style 0 is General, 1 a built-in date, 2 a Chinese date, 3 a date and time, 4 two decimals.
STYLES = (
    '<numFmts count="3"><numFmt numFmtId="176" formatCode="yyyy&quot;年&quot;m&quot;月&quot;'
    'd&quot;日&quot;"/><numFmt numFmtId="177" formatCode="yyyy/m/d\\ h:mm"/>'
    '<numFmt numFmtId="178" formatCode="0.00_);[Red]\\(0.00\\)"/></numFmts>'
    '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>'
    '<xf numFmtId="176" applyNumberFormat="1"/><xf numFmtId="177" applyNumberFormat="1"/>'
    '<xf numFmtId="178" applyNumberFormat="1"/></cellXfs>'
)
STRINGS = [
    "<si><t>手机号码</t></si>",
    "<si><t>姓名</t></si>",
    # A rich text run, and a phonetic guide that is not part of the text.
    '<si><r><rPr><b/></rPr><t>王</t></r><r><t xml:space="preserve">五 </t></r>'
    '<rPh sb="0" eb="1"><t>wang</t></rPh></si>',
    "<si><t>A &amp; B &lt;C&gt;</t></si>",
    "<si><t>line_x000D_break</t></si>",
    "<si><t>入网日期</t></si>",
]
EXCEL_ROWS = (
    '<row r="1" spans="1:4"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
    '<c r="D1" t="s"><v>5</v></c></row>'
    '<row r="2" spans="1:4"><c r="A2"><v>13812345678</v></c><c r="B2" t="s"><v>2</v></c>'
    '<c r="C2" t="b"><v>1</v></c><c r="D2" s="1"><v>46346</v></c></row>'
    '<row r="3" spans="1:4"><c r="A3" t="str"><f>"0731"&amp;"-84123456"</f>'
    '<v>0731-84123456</v></c><c r="B3" t="s"><v>3</v></c><c r="C3" t="b"><v>0</v></c>'
    '<c r="D3" s="2"><v>46023</v></c></row>'
    '<row r="5" spans="1:4"><c r="A5" s="4"><v>1.5</v></c><c r="B5" t="s"><v>4</v></c>'
    '<c r="C5" t="inlineStr"><is><t>行内</t></is></c><c r="D5" s="3"><v>46346.5</v></c></row>'
)
EXCEL_EXPECTED = [
    [13812345678, "王五 ", True, datetime.date(2026, 11, 20)],
    ["0731-84123456", "A & B <C>", False, datetime.date(2026, 1, 1)],
    [1.5, "line\rbreak", "行内", datetime.datetime(2026, 11, 20, 12, 0)],
]


def test_openpyxl_workbook(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "名单"
    sheet.append(["手机号码", None, "姓名", "日期", "时间", "金额", "是否", "备注"])
    sheet.append(
        [
            13812345678,
            None,
            "张三",
            datetime.date(2026, 11, 20),
            datetime.datetime(2026, 11, 20, 9, 30),
            12.5,
            True,
            "a & b < c > d",
        ]
    )
    sheet.append(["１３８１２３４５６７８", None, "李四", None, datetime.time(8, 15), -3, False])
    sheet.append([CellRichText([TextBlock(InlineFont(b=True), "王"), "五"]), None, "多\n行"])
    workbook.create_sheet("其他").append(["not", "this", "sheet"])
    path = tmp_path / "openpyxl.xlsx"
    workbook.save(path)

    header, rows = read(path)
    assert header == ["手机号码", "Column 2", "姓名", "日期", "时间", "金额", "是否", "备注"]
    assert rows == [
        [
            13812345678,
            None,
            "张三",
            datetime.date(2026, 11, 20),
            datetime.datetime(2026, 11, 20, 9, 30),
            12.5,
            True,
            "a & b < c > d",
        ],
        ["１３８１２３４５６７８", None, "李四", None, datetime.time(8, 15), -3, False, None],
        ["王五", None, "多\n行", None, None, None, None, None],
    ]
    assert [cell_text(cell) for cell in rows[0][:5]] == [
        "13812345678",
        "",
        "张三",
        "2026-11-20",
        "2026-11-20 09:30:00",
    ]
    assert read_both_ways(path)[1:] == [rows[0], rows[1][:7], rows[2][:3]]


def test_a_phone_stored_as_a_number_reads_as_its_digits(tmp_path):
    workbook = Workbook()
    workbook.active.append(["phone"])
    workbook.active.append([13812345678])
    workbook.active.append([13912345678.0])
    path = tmp_path / "phones.xlsx"
    workbook.save(path)
    _header, rows = read(path)
    assert [cell_text(row[0]) for row in rows] == ["13812345678", "13912345678"]
    assert all(type(row[0]) is int for row in rows)


def test_excel_workbook_with_shared_strings_and_styles(tmp_path):
    path = excel_workbook(tmp_path / "excel.xlsx", EXCEL_ROWS, strings=STRINGS, styles=STYLES)
    header, rows = read(path)
    assert header == ["手机号码", "姓名", "Column 3", "入网日期"]
    assert rows == EXCEL_EXPECTED
    assert read_both_ways(path)[1:] == EXCEL_EXPECTED


@pytest.mark.parametrize(
    ("main", "rels"), [(MAIN, RELS), (STRICT_MAIN, STRICT_RELS)], ids=["transitional", "strict"]
)
def test_prefixed_elements_and_strict_ooxml(tmp_path, main, rels):
    path = excel_workbook(
        tmp_path / "x.xlsx",
        EXCEL_ROWS,
        strings=STRINGS,
        styles=STYLES,
        main=main,
        rels=rels,
        prefix="x",
    )
    assert read(path) == (["手机号码", "姓名", "Column 3", "入网日期"], EXCEL_EXPECTED)
    assert read_both_ways(path)[1:] == EXCEL_EXPECTED


def test_1904_date_system(tmp_path):
    path = excel_workbook(
        tmp_path / "mac.xlsx",
        '<row r="1"><c r="A1" t="inlineStr"><is><t>date</t></is></c></row>'
        '<row r="2"><c r="A2" s="1"><v>44884</v></c></row>',
        styles=STYLES,
        workbook_pr='<workbookPr date1904="1"/>',
    )
    assert read(path)[1] == [[datetime.date(2026, 11, 20)]]


def test_sparse_rows_and_cells(tmp_path):
    path = excel_workbook(
        tmp_path / "sparse.xlsx",
        '<row r="2"><c r="B2" t="inlineStr"><is><t>phone</t></is></c>'
        '<c r="D2" t="inlineStr"><is><t>name</t></is></c></row>'
        '<row r="3"/>'
        '<row r="7"><c r="C7"><v>13812345678</v></c></row>'
        '<row r="8"><c r="A8"/><c r="B8" s="0"/></row>'
        '<row><c><v>1</v></c><c><v>2</v></c><c r="E9"><v>5</v></c><c><v>6</v></c></row>',
    )
    header, rows = read(path)
    assert header == ["Column 1", "phone", "Column 3", "name"]
    assert rows == [[None, None, 13812345678, None], [1, 2, None, None, 5, 6]]


def test_the_first_sheet_in_workbook_order(tmp_path):
    """The workbook lists sheet2.xml first: that is the sheet Excel shows first."""
    path = excel_workbook(
        tmp_path / "order.xlsx",
        '<row r="1"><c r="A1" t="inlineStr"><is><t>first tab</t></is></c></row>',
        sheets=(
            (
                "Other",
                "worksheets/sheet2.xml",
                '<row r="1"><c r="A1" t="inlineStr"><is><t>second tab</t></is></c></row>',
            ),
        ),
    )
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/_rels/workbook.xml.rels"] = (
        parts["xl/_rels/workbook.xml.rels"]
        .replace(b"worksheets/sheet1.xml", b"worksheets/TEMP")
        .replace(b"worksheets/sheet2.xml", b"worksheets/sheet1.xml")
        .replace(b"worksheets/TEMP", b"/xl/worksheets/sheet2.xml")
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    assert read(path)[0] == ["second tab"]


def test_without_workbook_relationships_sheet1_is_read(tmp_path):
    with zipfile.ZipFile(tmp_path / "bare.xlsx", "w") as archive:
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{MAIN}"><sheetData><row><c t="inlineStr"><is><t>phone</t>'
            "</is></c></row><row><c><v>13812345678</v></c></row></sheetData></worksheet>",
        )
    assert read(tmp_path / "bare.xlsx") == (["phone"], [[13812345678]])


@pytest.mark.parametrize(
    "cells",
    [
        # Attributes in another order, with single quotes and spaces around =.
        "<c t=\"s\" r=\"A{n}\"><v>0</v></c><c r = 'B{n}' t = 'inlineStr' ><is><t>x{n}</t></is></c>",
        # A comment and CDATA, which only an XML parser reads.
        '<c r="A{n}" t="s"><v>0</v></c><!-- </row> --><c r="B{n}" t="inlineStr"><is><t>'
        "<![CDATA[x{n}]]></t></is></c>",
        # Metadata attributes and an inline string with a phonetic guide.
        '<c r="A{n}" s="0" t="s" cm="1"><v>0</v></c><c r="B{n}" t="inlineStr"><is><r><t>x'
        '</t></r><r><t xml:space="preserve">{n}</t></r><rPh sb="0" eb="1"><t>ignored</t>'
        "</rPh></is></c>",
    ],
    ids=["attributes", "comment-and-cdata", "metadata-and-runs"],
)
def test_unusual_xml_reads_the_same(tmp_path, cells):
    rows = "".join(f'<row r="{n}">{cells.format(n=n)}</row>' for n in range(1, 4))
    path = excel_workbook(tmp_path / "odd.xlsx", rows, strings=STRINGS)
    assert read(path) == (["手机号码", "x1"], [["手机号码", "x2"], ["手机号码", "x3"]])
    assert read_both_ways(path) == [["手机号码", f"x{n}"] for n in range(1, 4)]


def test_a_sheet_in_utf_16(tmp_path):
    path = excel_workbook(tmp_path / "utf16.xlsx", "")
    with zipfile.ZipFile(tmp_path / "utf16.xlsx") as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/worksheets/sheet1.xml"] = (
        f'<?xml version="1.0" encoding="UTF-16"?><worksheet xmlns="{MAIN}"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>手机号码</t></is></c></row>'
        '<row r="2"><c r="A2"><v>13812345678</v></c></row></sheetData></worksheet>'
    ).encode("utf-16")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    assert read(path) == (["手机号码"], [[13812345678]])


def test_a_comment_far_down_the_sheet_gives_no_row_twice(tmp_path):
    """The regular expressions read many rows before meeting the comment; lxml then reads
    from the start, and only the rows after those come out."""
    count = 20_000
    rows = "".join(
        f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, count + 1)
    ).replace(f'<row r="{count}">', f'<!-- late --><row r="{count}">')
    path = excel_workbook(tmp_path / "late.xlsx", rows)
    header, rows = read(path)
    assert header == ["1"]
    assert [row[0] for row in rows] == list(range(2, count + 1))


def test_the_benchmark_writer(tmp_path):
    path = tmp_path / "bench.xlsx"
    with _XlsxWriter(path) as sheet:
        sheet.append(["手机号码", "姓名", "备注"])
        sheet.append(["13812345678", "张三", "<b> & 'q'"])
        sheet.append(["+86 138-1234-5679", "李四", ""])
    header, rows = read(path)
    assert header == ["手机号码", "姓名", "备注"]
    assert rows == [[13812345678, "张三", "<b> & 'q'"], ["+86 138-1234-5679", "李四", ""]]


def test_rows_stream_before_the_sheet_is_read(tmp_path):
    path = tmp_path / "long.xlsx"
    with _XlsxWriter(path) as sheet:
        sheet.append(["phone", "name"])
        for n in range(30_000):
            sheet.append([f"138{n:08d}", f"名字{n}"])
    with open_table(path, "xlsx") as table:
        rows = table.rows()
        assert next(rows) == [13800000000, "名字0"]
        assert table.progress() < 0.1
        assert sum(1 for _row in rows) == 29_999
        assert table.progress() == 1.0


def test_an_empty_sheet(tmp_path):
    path = excel_workbook(tmp_path / "empty.xlsx", '<row r="1"><c r="A1" t="inlineStr"/></row>')
    with pytest.raises(UnreadableFile, match="empty"), open_table(path, "xlsx"):
        pass


def excel_bytes(tmp_path) -> bytes:
    return excel_workbook(
        tmp_path / "good.xlsx", EXCEL_ROWS, strings=STRINGS, styles=STYLES
    ).read_bytes()


def test_a_truncated_archive(tmp_path):
    path = tmp_path / "cut.xlsx"
    path.write_bytes(excel_bytes(tmp_path)[:-200])
    with pytest.raises(UnreadableFile, match=NOT_A_WORKBOOK), open_table(path, "xlsx"):
        pass


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"])
def test_damaged_compressed_data(tmp_path, part):
    data = bytearray(excel_bytes(tmp_path))
    with zipfile.ZipFile(tmp_path / "good.xlsx") as archive:
        info = archive.getinfo(part)
    start = info.header_offset + 30 + len(info.filename)
    for offset in range(start + 20, start + info.compress_size - 20):
        data[offset] ^= 0x5A
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableFile), open_table(path, "xlsx") as table:
        list(table.rows())


@pytest.mark.parametrize(
    "sheet",
    [
        '<worksheet xmlns="{ns}"><sheetData><row><c><v>1</v></c></row>',
        '<worksheet xmlns="{ns}"><sheetData><row><c><v>1</v></row></sheetData></worksheet>',
        '<worksheet xmlns="{ns}"><sheetData><row><c t="s"><v>7</v></c></row></sheetData>'
        "</worksheet>",
        '<worksheet xmlns="{ns}"><sheetData><row><c r="XFE1"><v>1</v></c></row></sheetData>'
        "</worksheet>",
    ],
    ids=["cut-short", "unclosed-cell", "no-such-string", "past-the-last-column"],
)
def test_a_damaged_sheet(tmp_path, sheet):
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", sheet.format(ns=MAIN))
    with pytest.raises(UnreadableFile, match=NOT_A_WORKBOOK), open_table(path, "xlsx") as table:
        list(table.rows())


def test_a_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "holiday photos")
    with pytest.raises(UnreadableFile, match=NOT_A_WORKBOOK), open_table(path, "xlsx"):
        pass
