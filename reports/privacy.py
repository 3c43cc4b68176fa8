"""Phone numbers in results: shown whole only to those who may see them. The masking
itself lives in accounts.privacy, where the audit trail uses it too."""

from accounts.privacy import mask_phone, mask_phones_in_text, mask_reference
from accounts.roles import Role

__all__ = ["mask_phone", "mask_phones_in_text", "mask_reference", "may_see_phones"]


def may_see_phones(user) -> bool:
    """Outbound administrators see numbers whole; analysts and everyone else see them
    masked."""
    return bool(user and user.is_authenticated and user.has_role(Role.OUTBOUND_ADMIN))
