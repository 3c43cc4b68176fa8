"""No import grows past a fixed memory budget, however its list is built within the limits:
a workbook whose shared strings expand to 200 MB and whose rows reach the column limit
with long cells is read and imported by a process of its own, whose peak memory is
measured. (Memory is a budget, not a timing: it does not depend on the machine's load.)"""

import io
import json
import os
import random
import subprocess
import sys
import zipfile

import pytest
from django.conf import settings as django_settings

from outbound.models import Contact, ContactImport
from tests.factories import Org
from tests.outbound.test_contacts_import import ready_order
from tests.outbound.test_contacts_import_safety import xlsx_bytes
from tests.outbound.test_dialer_fixtures import database_url

pytestmark = pytest.mark.django_db(transaction=True)

MEMORY_BUDGET_MB = 300
STRINGS = 110_000
STRING_CHARS = 2_000
ROWS = 150

CHILD = """
import json, os, re, sys
import django
django.setup()
from outbound.contacts import services
from outbound.models import ContactImport

def peak_rss_mb():
    # The peak of this process's own memory. (getrusage's ru_maxrss would not do: Linux
    # carries the spawning process's peak over into the child's at exec, so it would
    # measure pytest.)
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) / 1024


pk = int(sys.argv[1])
services.import_inspect(import_id=pk)
job = ContactImport.objects.get(pk=pk)
if job.status == "uploaded":
    ContactImport.objects.filter(pk=pk).update(mapping={"phone": 0}, status="queued")
    services.import_run(import_id=pk)
    job.refresh_from_db()
print(json.dumps({
    "status": job.status,
    "error": job.error,
    "rows_read": job.rows_read,
    "imported": job.imported,
    "peak_rss_mb": peak_rss_mb(),
}))
"""


def _hostile_workbook(path):
    """Shared strings far past what the reader keeps in memory, and every row as wide as
    the column limit lets it be, each cell one of those long strings."""
    rng = random.Random(7)
    columns = django_settings.WAIHU_IMPORT_MAX_COLUMNS
    skeleton = zipfile.ZipFile(io.BytesIO(xlsx_bytes("", strings=[])))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in skeleton.namelist():
            if name not in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
                archive.writestr(name, skeleton.read(name))
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(
                b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main">'
            )
            part.write(b"<si><t>phone</t></si>")
            filler = "x" * (STRING_CHARS - 8)
            for n in range(STRINGS):
                part.write(f"<si><t>{n:08d}{filler}</t></si>".encode())
            part.write(b"</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            header = "".join(
                f'<c t="inlineStr"><is><t>c{n}</t></is></c>' for n in range(1, columns)
            )
            part.write(f'<row r="1"><c t="s"><v>0</v></c>{header}</row>'.encode())
            for row in range(ROWS):
                cells = "".join(
                    f'<c t="s"><v>{rng.randrange(1, STRINGS + 1)}</v></c>'
                    for _ in range(columns - 1)
                )
                phone = f'<c t="inlineStr"><is><t>137{row:08d}</t></is></c>'
                part.write(f'<row r="{row + 2}">{phone}{cells}</row>'.encode())
            part.write(b"</sheetData></worksheet>")


def test_a_hostile_workbook_within_the_limits_stays_within_the_memory_budget(tmp_path, settings):
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    path = media / "contact_imports" / "hostile.xlsx"
    path.parent.mkdir(parents=True)
    _hostile_workbook(path)
    with zipfile.ZipFile(path) as archive:
        expanded = sum(member.file_size for member in archive.infolist())
    assert expanded > 200 * 2**20
    org_campaign = ready_order(Org())
    job = ContactImport.objects.create(
        campaign=org_campaign,
        uploaded_by=org_campaign.requester,
        file="contact_imports/hostile.xlsx",
        original_name="hostile.xlsx",
        file_format="xlsx",
        status=ContactImport.Status.READING,
    )
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(job.pk)],
        capture_output=True,
        text=True,
        check=False,
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "WAIHU_MEDIA_ROOT": str(media),
        },
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    print(f"hostile workbook: {expanded / 2**20:.0f} MB expanded, {result}")
    assert result["status"] == "done", result
    assert result["imported"] == ROWS == Contact.objects.filter(campaign=org_campaign).count()
    contact = Contact.objects.filter(campaign=org_campaign).first()
    assert len(contact.attributes) == settings.WAIHU_IMPORT_MAX_COLUMNS - 1
    assert result["peak_rss_mb"] < MEMORY_BUDGET_MB
