"""Which valid numbers the centre may call at all. A list may only bring in numbers of the
countries the centre calls (`WAIHU_ALLOWED_COUNTRIES`, China by default), and never a
number that costs the caller more than an ordinary call or reaches a service rather than
a customer: premium-rate, shared-cost, UAN, personal (forwarding) numbers, pagers and
voicemail. A premium-rate number slipped into a list is the classic way to make a call
centre pay a stranger by the minute. Toll-free numbers cost the centre nothing and stay
allowed.

Plain Chinese mobiles are nearly every row of every list: they are recognised by
phonenumbers' own mobile pattern without a full parse."""

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

FOREIGN = "foreign"
SPECIAL = "special"


@cache
def _mobile_prefix_and_pattern(region: str) -> tuple[str, re.Pattern | None]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    pattern = None
    if metadata is not None and metadata.mobile is not None:
        pattern = re.compile(metadata.mobile.national_number_pattern)
    return f"+{phonenumbers.country_code_for_region(region)}", pattern


def allowed_countries() -> frozenset[str]:
    return settings.WAIHU_ALLOWED_COUNTRIES


def number_refusal(phone: str, allowed: frozenset[str] | None = None) -> str | None:
    """Why the valid E.164 number `phone` may not be called (FOREIGN or SPECIAL), or None
    when it may. `allowed`: the allowed region codes (the setting when not given)."""
    allowed = allowed_countries() if allowed is None else allowed
    if "CN" in allowed:
        prefix, pattern = _mobile_prefix_and_pattern("CN")
        national = phone[len(prefix) :]
        if pattern is not None and phone.startswith(prefix) and pattern.fullmatch(national):
            return None
    number = phonenumbers.parse(phone, None)  # normalise_phone has made it E.164
    # A code several regions share (+1, +7, +44...) is placed by the number itself.
    if phonenumbers.region_code_for_number(number) not in allowed:
        return FOREIGN
    if phonenumbers.number_type(number) in REFUSED_TYPES:
        return SPECIAL
    return None
