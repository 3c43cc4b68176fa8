"""Lists as Excel saves them: CSV in UTF-8 (with or without BOM), GB18030 or UTF-16, and
.xlsx workbooks."""

import codecs

import pytest
from openpyxl import Workbook

from outbound.contacts.readers import UnreadableFile, detect_encoding, open_table

ROWS = [
    ["手机号码", "姓名", "地市", "套餐"],
    ["13812345678", "张三", "长沙", "动感地带 18元"],
    ["0731-84123456", "李四", "株洲", "全球通 88元"],
]


def write_csv(path, encoding, rows=ROWS, delimiter=",", bom=b""):
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    path.write_bytes(bom + text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "bom", "detected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("gb18030", b"", "gb18030"),
        ("gbk", b"", "gb18030"),
        ("utf-16", b"", "utf-16"),
    ],
)
def test_csv_encodings_are_detected_and_read(tmp_path, encoding, bom, detected):
    path = write_csv(tmp_path / "list.csv", encoding, bom=bom)
    assert detect_encoding(path) == detected
    with open_table(path, "csv") as table:
        assert table.header == ROWS[0]
        assert list(table.rows()) == ROWS[1:]


def test_gb18030_with_chinese_only_far_down_the_file(tmp_path):
    rows = [["phone", "name"]] + [[f"138{n:08d}", "x"] for n in range(80_000)]
    rows.append(["13900000000", "王五"])
    path = write_csv(tmp_path / "late.csv", "gb18030", rows=rows)
    assert path.stat().st_size > 1 << 20
    assert detect_encoding(path) == "gb18030"
    with open_table(path, "csv") as table:
        rows = list(table.rows())
        assert rows[-1] == ["13900000000", "王五"]
        assert table.progress() == 1.0


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_other_delimiters(tmp_path, delimiter):
    path = write_csv(tmp_path / "list.csv", "utf-8", delimiter=delimiter)
    with open_table(path, "csv") as table:
        assert table.delimiter == delimiter
        assert table.header == ROWS[0]


def test_blank_and_repeated_headers_get_labels(tmp_path):
    path = write_csv(tmp_path / "list.csv", "utf-8", rows=[["phone", "", "phone"], ["1", "2", "3"]])
    with open_table(path, "csv") as table:
        assert table.header == ["phone", "Column 2", "phone (2)"]


def test_empty_file_is_unreadable(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\r\n\r\n")
    with pytest.raises(UnreadableFile), open_table(path, "csv"):
        pass


def test_xlsx_first_sheet(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["手机号码", "姓名", "反馈日期"])
    sheet.append([13812345678, "张三", "2026-11-20"])
    sheet.append([None, None, None])
    sheet.append(["0731-84123456", "李四", None])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    with open_table(path, "xlsx") as table:
        assert table.header == ["手机号码", "姓名", "反馈日期"]
        rows = list(table.rows())
    assert len(rows) == 2
    assert rows[0][0] == 13812345678
    assert rows[1][:2] == ["0731-84123456", "李四"]


def test_not_a_workbook(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("phone\n13812345678\n")
    with pytest.raises(UnreadableFile), open_table(path, "xlsx"):
        pass
