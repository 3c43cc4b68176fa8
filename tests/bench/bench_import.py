"""Contact import benchmarks against the configured database (PostgreSQL when DATABASE_URL
names it, else SQLite):

- import_csv_rows_per_s, import_csv_peak_rss_mb: a generated 1,000,000-row CSV list;
- import_xlsx_rows_per_s (and its peak memory): the same list as .xlsx;
- import_vs_django_import_export: our rows/s over django-import-export's (a ModelResource
  with use_bulk) on the list's first 100,000 rows.

Each measured import runs in a fresh child process, so its peak memory is its own. The data
lives in a throwaway PostgreSQL schema (or a throwaway SQLite file) that is dropped at the
end. WAIHU_BENCH_ROWS changes the list's length."""

import csv
import json
import os
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from tests.bench.children import drop_schema, peak_rss_mb, run_child

ROWS = int(os.environ.get("WAIHU_BENCH_ROWS", "1000000"))
COMPARE_ROWS = min(100_000, ROWS)
HEADER = ["手机号码", "姓名", "品牌", "地市", "客户类型", "套餐", "入网日期"]
MAPPING = {"phone": 0, "name": 1, "brand": 2, "region": 3, "segment": 4}

_PREFIXES = [
    *(str(n) for n in range(130, 140)),
    *("145", "147", "150", "151", "152", "153", "155", "156", "157", "158", "159"),
    *("166", "172", "175", "176", "177", "178"),
    *(str(n) for n in range(180, 190)),
    *("198", "199"),
]
# Changsha's numbers have eight digits, the other cities' seven.
_AREAS = ["0731", "0730", "0734", "0735", "0736", "0737", "0738", "0739"]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅海燕志强"
_BRANDS = ["全球通", "动感地带", "神州行", "TD"]
_REGIONS = ["长沙", "株洲", "湘潭", "衡阳", "邵阳", "岳阳", "常德", "张家界", "益阳", "郴州"]
_SEGMENTS = ["高价值", "中价值", "低价值", "学生", "政企"]
_PLANS = ["18元套餐", "38元套餐", "58元套餐", "88元套餐", "128元套餐", "188元套餐"]
_INVALID = ["12345", "1381234", "abc", "138123456789", "0000000", "23812345678", "1-800-FLOWERS"]


def _mobile(rng: random.Random) -> str:
    return rng.choice(_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


def _written(rng: random.Random, mobile: str) -> str:
    """A number the way lists write it: mostly plain, sometimes dressed up."""
    roll = rng.random()
    if roll < 0.85:
        return mobile
    if roll < 0.88:
        return "+86" + mobile
    if roll < 0.90:
        return "0086" + mobile
    if roll < 0.93:
        return f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    if roll < 0.95:
        return f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    area = rng.choice(_AREAS)
    digits = 7 if area == "0731" else 6
    return f"{area}-{rng.randrange(2, 9)}{rng.randrange(10**digits):0{digits}d}"


def generate_rows(count: int, seed: int = 20261122):
    """Rows of a realistic list: ~2% invalid numbers, ~5% repeats of an earlier number."""
    rng = random.Random(seed)
    earlier: list[str] = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.02:
            phone = rng.choice(_INVALID)
        elif roll < 0.07 and earlier:
            phone = rng.choice(earlier)
        else:
            phone = _written(rng, _mobile(rng))
            if n % 7 == 0:
                earlier.append(phone)
        yield [
            phone,
            rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(("", rng.choice(_GIVEN))),
            rng.choice(_BRANDS),
            rng.choice(_REGIONS),
            rng.choice(_SEGMENTS),
            rng.choice(_PLANS),
            f"20{rng.randrange(5, 26):02d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        ]


def write_lists(full_csv: Path, small_csv: Path, xlsx: Path, count: int, small: int):
    """The list as CSV (Chinese Excel saves "CSV" in GB18030), its first `small` rows as
    another CSV, the same list as .xlsx, and a sample of its numbers for the lists never
    to call (~1% do-not-call, ~0.5% red list), all in one pass."""
    dnc, red = [], []
    with (
        open(full_csv, "w", encoding="gb18030", newline="") as full,
        open(small_csv, "w", encoding="gb18030", newline="") as first,
        _XlsxWriter(xlsx) as sheet,
    ):
        writers = csv.writer(full), csv.writer(first)
        for writer in writers:
            writer.writerow(HEADER)
        sheet.append(HEADER)
        for n, values in enumerate(generate_rows(count)):
            writers[0].writerow(values)
            if n < small:
                writers[1].writerow(values)
            sheet.append(values)
            phone = values[0]
            if phone.isdigit() and len(phone) == 11:
                if n % 100 == 3:
                    dnc.append(phone)
                elif n % 200 == 5:
                    red.append(phone)
    return dnc, red


def _column(index: int) -> str:
    return "ABCDEFGHIJ"[index]


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="名单" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


class _XlsxWriter:
    """A minimal workbook written as XML (inline strings; plain mobiles as numbers, the way
    Excel keeps them), quick enough for a million rows of test data."""

    def __init__(self, path: Path):
        self.path = path
        self.number = 0
        self.chunk: list[str] = []

    def __enter__(self):
        self.archive = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        for name, text in _XLSX_PARTS.items():
            self.archive.writestr(name, text)
        self.sheet = self.archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self.sheet.write(
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<sheetData>"
        )
        return self

    @staticmethod
    def _cell(ref: str, value: str) -> str:
        if value.isdigit() and len(value) == 11:
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'

    def append(self, values: list[str]) -> None:
        self.number += 1
        cells = "".join(self._cell(f"{_column(i)}{self.number}", v) for i, v in enumerate(values))
        self.chunk.append(f'<row r="{self.number}">{cells}</row>')
        if len(self.chunk) == 10_000:
            self._write()

    def _write(self) -> None:
        self.sheet.write("".join(self.chunk).encode())
        self.chunk = []

    def __exit__(self, *exc) -> None:
        self._write()
        self.sheet.write(b"</sheetData></worksheet>")
        self.sheet.close()
        self.archive.close()


# --- the child processes ---------------------------------------------------------------------


def _django(work: Path, isolated: bool = True):
    """Django set up on the configured database, moved to the throwaway schema or file."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    database = settings.DATABASES["default"]
    if isolated:
        if database["ENGINE"] == "django.db.backends.postgresql":
            schema = os.environ["WAIHU_BENCH_SCHEMA"]
            database.setdefault("OPTIONS", {})["options"] = f"-c search_path={schema}"
        else:
            database["NAME"] = str(work / "bench.sqlite3")
    settings.MEDIA_ROOT = work / "media"
    # Follow-up tasks are queued in memory here; the benchmark runs them itself.
    settings.CELERY_BROKER_URL = "memory://"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    import django

    django.setup()
    from config.celery import app

    app.conf.broker_url = "memory://"
    app.conf.task_always_eager = False


def _cpu_seconds() -> float:
    """This process's CPU time: with other work on the machine, a fairer figure than the
    wall clock of what the import itself costs (the database server's share aside)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_setup(work: Path) -> dict:
    vendor = _vendor_before_setup()
    if vendor == "postgresql":
        _django(work, isolated=False)
        from django.db import connection

        with connection.cursor() as cursor:
            schema = os.environ["WAIHU_BENCH_SCHEMA"]
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        connection.close()
        from django.conf import settings

        settings.DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            f"-c search_path={os.environ['WAIHU_BENCH_SCHEMA']}"
        )
    else:
        _django(work)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    import datetime

    from accounts.models import Department, User
    from outbound.models import DoNotCallEntry, RedListEntry

    department = Department.objects.create(name="Bench", code="bench")
    User.objects.create(username="bench", department=department)
    dnc, red = json.loads((work / "exclusions.json").read_text())
    DoNotCallEntry.objects.bulk_create(
        DoNotCallEntry(phone="+86" + phone, source=DoNotCallEntry.Source.UPLOAD)
        for phone in set(dnc)
    )
    today = datetime.date.today()
    RedListEntry.objects.bulk_create(
        RedListEntry(
            phone="+86" + phone,
            starts_on=today - datetime.timedelta(days=30),
            ends_on=today + datetime.timedelta(days=300),
        )
        for phone in set(red)
    )
    return {"dnc": len(set(dnc)), "red": len(set(red))}


def _vendor_before_setup() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.startswith(("postgres", "pgsql")) else "sqlite"


def _campaign(title: str):
    import datetime

    from accounts.models import User
    from outbound.models import WorkOrder

    user = User.objects.get(username="bench")
    today = datetime.date.today()
    return WorkOrder.objects.create(
        title=title,
        kind=WorkOrder.Kind.SATISFACTION,
        background="-",
        purpose="-",
        target_description="-",
        expected_contacts=ROWS,
        desired_start=today,
        desired_end=today,
        requester=user,
        department=user.department,
        run_status=WorkOrder.RunStatus.READY,
    ), user


def child_import(work: Path, path: str, fmt: str) -> dict:
    _django(work)
    from outbound.contacts.readers import open_table
    from outbound.contacts.tasks import contact_import_rejects, contact_import_run
    from outbound.models import Contact, ContactImport

    campaign, user = _campaign(f"Bench {fmt} {Path(path).name}")
    with open_table(path, fmt) as table:
        header, encoding = table.header, table.encoding
    job = ContactImport.objects.create(
        campaign=campaign,
        uploaded_by=user,
        file=os.path.relpath(path, work / "media"),
        original_name=Path(path).name,
        file_format=fmt,
        encoding=encoding,
        header=header,
        mapping=MAPPING,
        status=ContactImport.Status.QUEUED,
    )
    cpu = _cpu_seconds()
    started = time.perf_counter()
    contact_import_run.apply(args=[job.pk])
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    started = time.perf_counter()
    contact_import_rejects.apply(args=[job.pk])
    rejects_seconds = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == ContactImport.Status.DONE, job.error
    assert job.rejects_file
    stored = Contact.objects.filter(campaign=campaign).count()
    assert stored == job.imported, (stored, job.imported)
    return {
        "rows": job.rows_read,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "load_average": os.getloadavg()[0],
        "rejects_workbook_seconds": rejects_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "imported": job.imported,
        "duplicates": job.duplicates,
        "invalid": job.invalid,
        "excluded": job.excluded,
    }


def child_import_export(work: Path, path: str) -> dict:
    """django-import-export's ModelResource, bulk mode, on the same rows. Its bulk_create
    does not skip conflicts, so rows repeating a number exactly are dropped beforehand
    (untimed): a favour to it, which only lowers our ratio."""
    _django(work)
    import tablib
    from import_export import resources

    from outbound.models import Contact

    campaign, _user = _campaign("Bench django-import-export")

    class ContactResource(resources.ModelResource):
        class Meta:
            model = Contact
            fields = ("campaign", "phone", "name", "brand", "region", "segment")
            use_bulk = True
            batch_size = 1000
            force_init_instance = True
            skip_diff = True

    with open(path, encoding="gb18030", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        seen, rows = set(), []
        for values in reader:
            if values[0] not in seen:
                seen.add(values[0])
                rows.append([campaign.pk, *values[:5]])
    started = time.perf_counter()
    dataset = tablib.Dataset(
        *rows, headers=["campaign", "phone", "name", "brand", "region", "segment"]
    )
    result = ContactResource().import_data(dataset, dry_run=False, raise_errors=True)
    seconds = time.perf_counter() - started
    assert not result.has_errors()
    stored = Contact.objects.filter(campaign=campaign).count()
    return {"rows": len(rows), "seconds": seconds, "stored": stored}


def child_teardown(work: Path) -> dict:
    if _vendor_before_setup() == "postgresql":
        _django(work, isolated=False)
        drop_schema()
    return {}


CHILDREN = {
    "setup": child_setup,
    "import": child_import,
    "import_export": child_import_export,
    "teardown": child_teardown,
}


def _child(action: str, work: Path, *args: str) -> dict:
    return run_child("tests.bench.bench_import", action, work, *args)


def _say(name: str, value: float, unit: str) -> None:
    print(f"bench: {name} {value:.1f} {unit}", flush=True)


def main() -> None:
    os.environ.setdefault("WAIHU_BENCH_SCHEMA", f"bench_{os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="waihu-bench-") as tmp:
        work = Path(tmp)
        media = work / "media"
        media.mkdir()
        started = time.perf_counter()
        full_csv, small_csv, xlsx = media / "list.csv", media / "list-100k.csv", media / "list.xlsx"
        sample = write_lists(full_csv, small_csv, xlsx, ROWS, COMPARE_ROWS)
        (work / "exclusions.json").write_text(json.dumps(sample))
        print(
            f"# {ROWS:,} rows generated in {time.perf_counter() - started:.0f} s "
            f"(csv {full_csv.stat().st_size / 2**20:.0f} MB, "
            f"xlsx {xlsx.stat().st_size / 2**20:.0f} MB)",
            flush=True,
        )
        print(f"# database: {_vendor_before_setup()}", flush=True)
        try:
            _child("setup", work)
            result = _child("import", work, str(full_csv), "csv")
            print(f"# csv: {json.dumps(result)}", flush=True)
            _say("import_csv_rows_per_s", result["rows"] / result["seconds"], "rows/s")
            _say("import_csv_peak_rss_mb", result["peak_rss_mb"], "MB")
            result = _child("import", work, str(xlsx), "xlsx")
            print(f"# xlsx: {json.dumps(result)}", flush=True)
            _say("import_xlsx_rows_per_s", result["rows"] / result["seconds"], "rows/s")
            _say("import_xlsx_peak_rss_mb", result["peak_rss_mb"], "MB")
            ours = _child("import", work, str(small_csv), "csv")
            theirs = _child("import_export", work, str(small_csv))
            print(f"# first {COMPARE_ROWS:,} rows: ours {json.dumps(ours)}", flush=True)
            print(f"# django-import-export: {json.dumps(theirs)}", flush=True)
            ours_rate = ours["rows"] / ours["seconds"]
            theirs_rate = theirs["rows"] / theirs["seconds"]
            _say("import_100k_rows_per_s", ours_rate, "rows/s")
            _say("django_import_export_rows_per_s", theirs_rate, "rows/s")
            _say("import_vs_django_import_export", ours_rate / theirs_rate, "x")
        finally:
            _child("teardown", work)


if __name__ == "__main__":
    action, work, *rest = sys.argv[1:]
    print(json.dumps(CHILDREN[action](Path(work), *rest)))
