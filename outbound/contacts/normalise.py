"""Phone numbers to E.164, China first.

Lists arrive with numbers written every way people write them: 11-digit mobiles, landlines
with their area code (0731-84123456), spaces and dashes, +86 or 0086 in front, full-width
digits typed with a Chinese input method, and numbers Excel turned into floats. Plain
mobiles are most of every list, so they are checked against phonenumbers' own pattern for
Chinese mobiles without a full parse; everything else goes through phonenumbers."""

import datetime
import re
from functools import cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_REGION = "CN"

# Full-width digits, plus and separators (U+FF10..) to ASCII; separators to nothing.
_FULL_WIDTH = {0xFF10 + i: str(i) for i in range(10)}
_FULL_WIDTH.update({0xFF0B: "+", 0x3000: None, 0xFF0D: None, 0xFF08: None, 0xFF09: None})
_SEPARATORS = dict.fromkeys(map(ord, " \t\r\n-‐–—()./\u00a0\u200b"), None)
_TRANSLATE = {**_FULL_WIDTH, **_SEPARATORS}
_DIALABLE = re.compile(r"\+?\d+")


@cache
def _mobile_pattern(region: str) -> re.Pattern | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.mobile is None:
        return None
    return re.compile(metadata.mobile.national_number_pattern)


@cache
def _country_code(region: str) -> str:
    return str(phonenumbers.country_code_for_region(region))


def normalise_phone(raw, region: str = DEFAULT_REGION) -> str | None:
    """`raw` in E.164 ('+8613812345678'), or None when it is not a valid number."""
    if type(raw) is float and raw.is_integer():
        raw = str(int(raw))  # Excel keeps a mobile number as a number
    elif type(raw) is int:
        raw = str(raw)
    if type(raw) is str and len(raw) == 11 and raw.isascii() and raw.isdigit():
        pattern = _mobile_pattern(region)
        if pattern is not None and pattern.fullmatch(raw):
            return f"+{_country_code(region)}{raw}"
    if raw is None or isinstance(raw, bool | datetime.date | datetime.time):
        return None
    if isinstance(raw, float):
        if not raw.is_integer():
            return None
        raw = int(raw)
    text = str(raw).translate(_TRANSLATE)
    if not _DIALABLE.fullmatch(text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    code = _country_code(region)
    national = None
    if text.startswith("+" + code):
        national = text[len(code) + 1 :]
    elif not text.startswith("+"):
        national = text
    if national is not None and len(national) == 11:
        pattern = _mobile_pattern(region)
        if pattern is not None and pattern.fullmatch(national):
            return f"+{code}{national}"
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


_DATE = re.compile(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[\sT].*)?")
_COMPACT_DATE = re.compile(r"\s*(\d{4})(\d{2})(\d{2})\s*")
# Excel counts days from 1899-12-30 (it believes 1900 was a leap year).
_EXCEL_EPOCH = datetime.date(1899, 12, 30)


def parse_date(raw) -> datetime.date | None:
    """A date from a cell: a date or datetime, an Excel serial number, or text such as
    2026-11-20, 2026/11/20, 2026.11.20, 20261120 or 2026年11月20日 (a time may follow)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime.datetime):
        return raw.date()
    if isinstance(raw, datetime.date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if 20000 < raw < 80000:
            return _EXCEL_EPOCH + datetime.timedelta(days=int(raw))
        raw = str(int(raw)) if float(raw).is_integer() else str(raw)
    text = str(raw).translate(_FULL_WIDTH)
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if not match:
        return None
    try:
        return datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
