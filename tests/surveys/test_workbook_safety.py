"""Questionnaire workbooks from outside: malformed XML, entity expansion, outside entities
(XXE) and zip bombs give a clear error and import nothing; text that looks like a formula
is exported as text. Download names keep the title's safe characters."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from config.downloads import download_name
from surveys.excel import version_export_xlsx, version_import_xlsx
from surveys.models import QuestionnaireVersion
from tests.factories import UserFactory
from tests.surveys.factories import english_questionnaire

pytestmark = pytest.mark.django_db
QUESTIONS_PART = "xl/worksheets/sheet2.xml"


@pytest.fixture
def admin():
    from accounts.roles import Role

    return UserFactory(username="oadmin", roles=[Role.OUTBOUND_ADMIN])


@pytest.fixture
def exported(admin) -> bytes:
    return version_export_xlsx(version=english_questionnaire(created_by=admin))


def _rewrite(workbook: bytes, part: str, change) -> bytes:
    """The workbook with one part's bytes replaced by change(old bytes)."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, change(data) if item.filename == part else data)
    return out.getvalue()


def _upload(client, admin, content: bytes):
    client.force_login(admin)
    upload = SimpleUploadedFile("survey.xlsx", content)
    return client.post(reverse("surveys:questionnaire_import"), {"file": upload})


def _declare(data: bytes, declaration: bytes) -> bytes:
    """The part with a document type declaration before its root element."""
    if data.startswith(b"<?xml"):
        head, _sep, rest = data.partition(b"?>")
        return head + b"?>" + declaration + rest
    return declaration + data


def _utf16(data: bytes, declaration: bytes) -> bytes:
    body = data.partition(b"?>")[2] if data.startswith(b"<?xml") else data
    text = '<?xml version="1.0" encoding="UTF-16"?>' + declaration.decode() + body.decode()
    return text.encode("utf-16")


BILLION_LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b"]>"
)
XXE = b'<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d[: len(d) // 2], "could not be read as an Excel workbook"),
        (lambda d: d.replace(b"<row", b"<row <<", 1), "could not be read as an Excel workbook"),
        (lambda d: _declare(d, BILLION_LAUGHS), "document type declaration"),
        (lambda d: _declare(d, XXE), "document type declaration"),
        (lambda d: _utf16(d, XXE), "document type declaration"),
    ],
    ids=["truncated", "malformed", "billion-laughs", "xxe", "xxe-utf16"],
)
def test_a_hostile_or_broken_workbook_gives_a_clear_error(client, admin, exported, change, message):
    before = QuestionnaireVersion.objects.count()
    content = _rewrite(exported, QUESTIONS_PART, change)
    response = _upload(client, admin, content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert QuestionnaireVersion.objects.count() == before


def test_a_zip_bomb_is_refused_before_it_is_expanded(client, admin, exported):
    content = _rewrite(exported, "docProps/app.xml", lambda d: d + b" " * (80 * 1024 * 1024))
    assert len(content) < 2 * 1024 * 1024
    response = _upload(client, admin, content)
    assert response.status_code == 200
    assert "expands to more than 64 MB" in response.content.decode()


def test_text_that_looks_like_a_formula_is_exported_as_text(admin):
    version = english_questionnaire(created_by=admin)
    question = version.questions.order_by("position").first()
    question.text = '=HYPERLINK("http://attacker.example","Click")'
    question.save()
    workbook = load_workbook(io.BytesIO(version_export_xlsx(version=version)))
    cells = [cell for row in workbook.worksheets[1].iter_rows() for cell in row]
    (cell,) = [c for c in cells if str(c.value).startswith("=HYPERLINK")]
    assert cell.data_type == "s" and cell.quotePrefix
    # And it comes back as the same text.
    copy = version_import_xlsx(file=version_export_xlsx(version=version), created_by=admin)
    assert copy.questions.get(code=question.code).text == question.text


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("宽带满意度调查 2026/12", "宽带满意度调查 2026_12.xlsx"),
        ('../../etc/passwd"\r\nX-Injected: 1', "etc_passwd_X-Injected_ 1.xlsx"),
        ("   ", "download.xlsx"),
        ("A\u202eB", "AB.xlsx"),
    ],
)
def test_download_names_keep_safe_characters_only(title, expected):
    assert download_name(title, ".xlsx") == expected


def test_the_questionnaire_download_is_named_after_its_title(client, admin):
    version = english_questionnaire(created_by=admin)
    version.questionnaire.name = "满意度/回访"
    version.questionnaire.save()
    client.force_login(admin)
    response = client.get(reverse("surveys:version_export", args=[version.pk]))
    disposition = response["Content-Disposition"]
    assert "/" not in disposition.split("filename")[-1].replace("''", "")
    assert "%E6%BB%A1%E6%84%8F%E5%BA%A6_%E5%9B%9E%E8%AE%BF" in disposition
