"""Phone numbers in results: shown whole only to those who may see them. The decision is
outbound.privacy's (one policy for every page, workbook and API answer); the masking
itself lives in accounts.privacy, where the audit trail uses it too."""

from accounts.privacy import mask_phone, mask_phones_in_text, mask_reference
from outbound.privacy import may_see_phones, text_for

__all__ = ["mask_phone", "mask_phones_in_text", "mask_reference", "may_see_phones", "text_for"]
