"""Masking phone numbers, for every app that shows or records them: results pages and
workbooks, and the audit trail, which never keeps a number whole."""

import re

# Mainland mobile numbers, optionally with +86/0086/86 and spaces or dashes inside.
_MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
# Any other number of seven digits or more, as numbers are stored (E.164, or plain digits).
_LONG_NUMBER = re.compile(r"(?<![\d+])\+?\d{7,}(?!\d)")


def mask_phone(number: str) -> str:
    """13812345678 -> 138****5678; other numbers keep their first three and last four
    characters with the middle masked; short ones are masked but for the last two."""
    digits = (number or "").strip()
    if not digits:
        return ""
    match = _MOBILE.fullmatch(digits)
    if match:
        return f"{match.group(1)}****{match.group(3)}"
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_phones_in_text(text: str) -> str:
    """Mask every mobile number inside a free text (an open answer that dictates one)."""
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text or "")


def mask_numbers_in_text(text: str) -> str:
    """Mask every mobile number, and every other run of seven digits or more (a landline or
    a foreign number in E.164), inside a text."""
    return _LONG_NUMBER.sub(lambda m: mask_phone(m.group(0)), mask_phones_in_text(text))


def mask_reference(value: str) -> str:
    """Mask a reference when it is a phone number (all digits, at least seven of them, or a
    mobile number written with +86); leave other references as they are."""
    text = (value or "").strip()
    plain = re.sub(r"[\s+-]", "", text)
    if _MOBILE.fullmatch(text) or (plain.isdigit() and len(plain) >= 7):
        return mask_phone(text)
    return value
