"""Phone numbers and dates as lists write them, to E.164 and dates."""

import datetime

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.contacts.normalise import normalise_phone, parse_date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        (" 13812345678\t", "+8613812345678"),
        ("+8613812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("+86-138-1234-5678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("0086 138 1234 5678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("１３８１２３４５６７８", "+8613812345678"),
        ("＋８６　１３８－１２３４－５６７８", "+8613812345678"),
        ("（０７３１）８４１２３４５６", "+8673184123456"),
        ("0731-84123456", "+8673184123456"),
        ("0731 8412 3456", "+8673184123456"),
        ("(0731)84123456", "+8673184123456"),
        ("073184123456", "+8673184123456"),
        ("+86 731 8412 3456", "+8673184123456"),
        ("010-12345678", "+861012345678"),
        ("021-6123 4567", "+862161234567"),
        ("19912345678", "+8619912345678"),
        (13812345678, "+8613812345678"),
        (13812345678.0, "+8613812345678"),
    ],
)
def test_valid_numbers_become_e164(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "12345",
        "84123456",  # a landline without its area code
        "1381234567",  # ten digits
        "138123456789",  # twelve digits
        "12012345678",  # no such mobile prefix
        "23812345678",
        "abc",
        "138abc45678",
        "1-800-FLOWERS",
        "1.38123E+10",  # what Excel shows for a long number
        "13812345678.5",
        13812345678.5,
        True,
        datetime.date(2026, 11, 20),
        "+86",
        "0086",
    ],
)
def test_invalid_numbers_are_none(raw):
    assert normalise_phone(raw) is None


@settings(max_examples=400, deadline=None)
@given(st.from_regex(r"1[0-9]{10}", fullmatch=True))
def test_the_mobile_shortcut_agrees_with_phonenumbers(digits):
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        expected = None
    else:
        expected = (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(number)
            else None
        )
    assert normalise_phone(digits) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-20", datetime.date(2026, 11, 20)),
        ("2026/11/2", datetime.date(2026, 11, 2)),
        ("2026.11.20", datetime.date(2026, 11, 20)),
        ("20261120", datetime.date(2026, 11, 20)),
        ("2026年11月20日", datetime.date(2026, 11, 20)),
        ("２０２６年１１月２０日", datetime.date(2026, 11, 20)),
        ("2026-11-20 14:30:00", datetime.date(2026, 11, 20)),
        (datetime.datetime(2026, 11, 20, 9, 0), datetime.date(2026, 11, 20)),
        (datetime.date(2026, 11, 20), datetime.date(2026, 11, 20)),
        (46346, datetime.date(2026, 11, 20)),  # an Excel serial date
        ("", None),
        (None, None),
        ("next week", None),
        ("2026-02-30", None),
    ],
)
def test_dates_from_cells(raw, expected):
    assert parse_date(raw) == expected
