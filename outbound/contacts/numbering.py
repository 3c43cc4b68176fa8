"""Which valid numbers the centre may call at all. A list may only bring in numbers of the
countries the centre calls (`WAIHU_ALLOWED_COUNTRIES`, China by default), and never a
number that costs the caller more than an ordinary call or reaches a service rather than
a customer: premium-rate, shared-cost, UAN, personal (forwarding) numbers, pagers and
voicemail. A premium-rate number slipped into a list is the classic way to make a call
centre pay a stranger by the minute. Toll-free numbers cost the centre nothing and stay
allowed.

A million-row list goes through here, so a number of an allowed country whose calling code
is that country's alone (China's +86) is typed by its own metadata's patterns, in the
order phonenumbers tries them, without a full parse; other numbers are parsed."""

import re
from functools import cache

import phonenumbers
from django.conf import settings
from phonenumbers import PhoneNumberType

REFUSED_TYPES = frozenset(
    {
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.UAN,
        PhoneNumberType.PERSONAL_NUMBER,
        PhoneNumberType.PAGER,
        PhoneNumberType.VOICEMAIL,
    }
)
# The types phonenumbers checks before a fixed line or a mobile, in its order: the first
# whose pattern a number matches is its type.
_SPECIAL_DESCS = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)

FOREIGN = "foreign"
SPECIAL = "special"


def allowed_countries() -> frozenset[str]:
    return settings.WAIHU_ALLOWED_COUNTRIES


@cache
def _plans(allowed: frozenset[str]) -> dict[str, dict[int, tuple]]:
    """'+<code>' -> {national number length: ((pattern, refused), ...)} for each allowed
    region whose calling code no other region shares: the special types a number of that
    length may be, in phonenumbers' order."""
    plans = {}
    for region in allowed:
        code = phonenumbers.country_code_for_region(region)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None or len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]) != 1:
            continue
        descs = [
            (getattr(metadata, name), number_type in REFUSED_TYPES)
            for name, number_type in _SPECIAL_DESCS
        ]
        descs = [
            (desc, refused) for desc, refused in descs if desc and desc.national_number_pattern
        ]
        lengths = set(metadata.general_desc.possible_length)
        for desc, _refused in descs:
            lengths.update(desc.possible_length)
        plans[f"+{code}"] = {
            length: tuple(
                (re.compile(desc.national_number_pattern), refused)
                for desc, refused in descs
                if not desc.possible_length or length in desc.possible_length
            )
            for length in lengths
        }
    return plans


def refusal_check(allowed: frozenset[str] | None = None):
    """number_refusal for `allowed` (the setting when not given), as a function of the
    number alone: what a list's rows are checked with."""
    allowed = allowed_countries() if allowed is None else allowed
    plans = _plans(allowed)

    def refusal(phone: str) -> str | None:
        # Calling codes are one to three digits and none is the start of another.
        for end in (3, 2, 4):
            by_length = plans.get(phone[:end])
            if by_length is not None:
                national = phone[end:]
                for pattern, refused in by_length.get(len(national), ()):
                    if pattern.fullmatch(national):
                        return SPECIAL if refused else None
                return None
        return parsed_refusal(phone, allowed)

    return refusal


def number_refusal(phone: str, allowed: frozenset[str] | None = None) -> str | None:
    """Why the valid E.164 number `phone` may not be called (FOREIGN or SPECIAL), or None
    when it may. `allowed`: the allowed region codes (the setting when not given)."""
    return refusal_check(allowed)(phone)


def parsed_refusal(phone: str, allowed: frozenset[str]) -> str | None:
    """number_refusal by a full parse: the reference the quick way must agree with."""
    number = phonenumbers.parse(phone, None)  # normalise_phone has made it E.164
    # A code several regions share (+1, +7, +44...) is placed by the number itself.
    if phonenumbers.region_code_for_number(number) not in allowed:
        return FOREIGN
    if phonenumbers.number_type(number) in REFUSED_TYPES:
        return SPECIAL
    return None
