"""Who sees a customer's phone number whole. Every page, workbook, JSON answer and API
response that shows a number asks here; the masking itself (138****8000) is
accounts.privacy's, which the audit trail uses too.

The policy, by role (README, "Phone numbers"):
- outbound administrators see every number whole;
- an agent sees whole the number of the contact they hold now (the one they are calling)
  and no other;
- everyone else sees numbers masked: requesters, approvers, analysts, agents away from
  their current contact, and the system administrator unless also an outbound
  administrator;
- a number can be revealed on demand, one contact at a time, by the requester of the
  contact's campaign (their own department's) and by an agent who has called that contact
  in that campaign (to call them back); each reveal is kept in the audit trail;
- an integration reads numbers whole only with the "phones" scope.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.privacy import mask_numbers_in_text, mask_phone, mask_reference
from accounts.roles import Role

__all__ = [
    "Purpose",
    "integration_sees_phones",
    "may_reveal",
    "may_see_phones",
    "phone_for",
    "phone_for_integration",
    "policy_for",
    "reference_for",
    "text_for",
]

# The integration scope that lets another system read numbers whole.
PHONES_SCOPE = "phones"


class Purpose(models.TextChoices):
    """Why a number is being shown: on a page, in a workbook or an API answer; or revealed
    on demand, which is recorded."""

    SHOW = "show", _("Shown")
    REVEAL = "reveal", _("Revealed on demand")


def may_see_phones(user) -> bool:
    """Outbound administrators see numbers whole everywhere; nobody else does."""
    return bool(user and user.is_authenticated and user.has_role(Role.OUTBOUND_ADMIN))


class PhonePolicy:
    """The decisions for one user, with what they need looked up once (the contacts an
    agent holds now, the contacts they have called in a campaign), so that a page of a
    hundred numbers costs no query more than a page of one."""

    def __init__(self, user):
        self.user = user
        self.whole = may_see_phones(user)
        self._holding: set[int] | None = None
        self._called: dict[int, set[int]] = {}
        self._requester_of: dict[int, bool] = {}

    def _is_agent(self) -> bool:
        return bool(
            self.user and self.user.is_authenticated and self.user.has_role(Role.CALL_AGENT)
        )

    def holding(self) -> set[int]:
        """The contacts this agent holds now: reserved for them and not finished."""
        if self._holding is None:
            from outbound.models import Interview

            self._holding = (
                set(
                    Interview.objects.filter(
                        agent=self.user,
                        channel=Interview.Channel.AGENT,
                        closed_at=None,
                        reserved_until__isnull=False,
                    ).values_list("contact_id", flat=True)
                )
                if self._is_agent()
                else set()
            )
        return self._holding

    def called(self, campaign_id: int) -> set[int]:
        """The contacts of the campaign this agent has called themselves."""
        if campaign_id not in self._called:
            from outbound.models import Interview

            self._called[campaign_id] = (
                set(
                    Interview.objects.filter(
                        campaign_id=campaign_id,
                        agent=self.user,
                        channel=Interview.Channel.AGENT,
                        attempt__isnull=False,
                    ).values_list("contact_id", flat=True)
                )
                if self._is_agent()
                else set()
            )
        return self._called[campaign_id]

    def is_requester_of(self, contact) -> bool:
        """The requester of the contact's campaign, still in its department; looked up once
        per campaign, whether or not the contact came with its campaign loaded."""
        user = self.user
        if not (user and user.is_authenticated):
            return False
        campaign_id = contact.campaign_id
        if campaign_id not in self._requester_of:
            from outbound.models import Contact, WorkOrder

            if Contact.campaign.is_cached(contact):
                owner = (contact.campaign.requester_id, contact.campaign.department_id)
            else:
                owner = (
                    WorkOrder.objects.filter(pk=campaign_id)
                    .values_list("requester_id", "department_id")
                    .first()
                )
            self._requester_of[campaign_id] = owner == (user.pk, user.department_id)
        return self._requester_of[campaign_id]

    def may_reveal(self, contact) -> bool:
        """Whether the user may have this contact's number shown whole on demand."""
        if self.whole:
            return True
        if contact is None or contact.pk is None:
            return False
        if self.is_requester_of(contact):
            return True
        return contact.pk in self.called(contact.campaign_id)

    def offers_reveal(self, contact) -> bool:
        """Whether a page shows a reveal button beside the masked number."""
        return not self.whole and self.may_reveal(contact)

    def phone(self, number: str, *, contact=None, purpose: Purpose | str = Purpose.SHOW) -> str:
        if self.whole or not number:
            return number or ""
        # The contact an agent is calling is theirs to see, wherever it is shown.
        if contact is not None and contact.pk in self.holding():
            return number
        if purpose == Purpose.REVEAL and self.may_reveal(contact):
            return number
        return mask_phone(number)

    def text(self, text: str) -> str:
        return text if self.whole else mask_numbers_in_text(text)

    def reference(self, value: str) -> str:
        return value if self.whole else mask_reference(value)


def policy_for(user) -> PhonePolicy:
    """The user's policy, kept on the user object for the rest of the request."""
    if user is None:
        return PhonePolicy(None)
    policy = getattr(user, "_waihu_phone_policy", None)
    if policy is None:
        policy = PhonePolicy(user)
        user._waihu_phone_policy = policy
    return policy


def phone_for(user, number: str, *, contact=None, purpose: Purpose | str = Purpose.SHOW) -> str:
    """`number` as `user` may see it: whole, or masked (138****8000)."""
    return policy_for(user).phone(number, contact=contact, purpose=purpose)


def may_reveal(user, contact) -> bool:
    return policy_for(user).may_reveal(contact)


def text_for(user, text: str) -> str:
    """A free text (an open answer) with the numbers in it masked unless `user` sees
    numbers whole."""
    return policy_for(user).text(text)


def reference_for(user, value: str) -> str:
    return policy_for(user).reference(value)


def integration_sees_phones(integration) -> bool:
    """Another system reads numbers whole only when its token has the "phones" scope."""
    return bool(integration is not None and integration.has_scope(PHONES_SCOPE))


def phone_for_integration(integration, number: str) -> str:
    if integration_sees_phones(integration) or not number:
        return number or ""
    return mask_phone(number)
