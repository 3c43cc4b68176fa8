"""Opening a workbook in LibreOffice, headless, as a user's office suite would: a sheet
converted to CSV shows what LibreOffice read, and a workbook it had to repair fails."""

import csv
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.conftest import require


def sheet_rows(path: Path, sheet: int) -> list[list[str]]:
    """The rows LibreOffice reads from sheet number `sheet` (from 1) of the workbook."""
    require(shutil.which("soffice") is not None, "LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                "csv:Text - txt - csv (StarCalc):"
                f"44,34,76,1,,0,false,true,false,false,false,{sheet}",
                "--outdir",
                out,
                str(path),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        produced = list(Path(out).glob("*.csv"))
        assert produced, done.stdout + done.stderr
        return list(csv.reader(produced[0].open(encoding="utf-8")))


def printed_text(path: Path) -> str:
    """The workbook printed to PDF by LibreOffice, every sheet, as text: what a user sees on
    paper, "###" included where a column is too narrow for its number or date."""
    require(shutil.which("soffice") is not None, "LibreOffice (soffice) is not installed")
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                out,
                str(path),
            ],
            capture_output=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        produced = list(Path(out).glob("*.pdf"))
        assert produced, done.stdout + done.stderr
        text = subprocess.run(
            ["pdftotext", "-layout", str(produced[0]), "-"],
            capture_output=True,
            timeout=60,
            check=True,
        )
        return text.stdout.decode("utf-8")
