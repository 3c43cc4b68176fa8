"""What the carrier account allows a campaign: a caller ID the account owns or has
verified, a public address Twilio can reach, and the account-level refusals that pause a
campaign instead of costing its contacts their attempts."""

import ipaddress
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from outbound import telephony
from outbound.models import CampaignSettings

logger = logging.getLogger(__name__)
State = CampaignSettings.State
Reason = CampaignSettings.PauseReason
# Twilio's support article on calling mainland China (see preflight and the README).
CHINA_CALLING_URL = (
    "https://support.twilio.com/hc/en-us/articles/360016488474-Calling-Limitations-to-China"
)


def caller_id_of(rules: CampaignSettings) -> str:
    return rules.caller_id or settings.WAIHU_CALLER_ID


# --- the public address ----------------------------------------------------------------


def url_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def host_is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def host_is_private(host: str) -> bool:
    """An address literal no one outside the local network reaches (10.x, 192.168.x…)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_link_local


def public_url_problem(url: str | None = None) -> str | None:
    """Why Twilio could not call Waihu back at the public base URL, or None. With the
    sandbox anything goes: it calls back from inside Waihu."""
    if telephony.is_sandbox():
        return None
    url = url if url is not None else settings.PUBLIC_BASE_URL
    if urlsplit(url).scheme != "https":
        return _(
            "The public address %(url)s is not https: Twilio calls Waihu back there, and "
            "its requests and signatures must travel encrypted. Set WAIHU_PUBLIC_BASE_URL to "
            "the https address of this server."
        ) % {"url": url}
    if host_is_loopback(url_host(url)):
        return _(
            "The public address %(url)s points at this machine itself, where Twilio cannot "
            "reach it. Set WAIHU_PUBLIC_BASE_URL to the https address Twilio reaches."
        ) % {"url": url}
    return None


# --- the caller ID ---------------------------------------------------------------------


def caller_id_problem(number: str) -> str | None:
    """Asks the account whether it may call from `number`; the reason it may not, or None.
    Raises TransientError when the carrier cannot be asked."""
    try:
        found = telephony.caller_id_check(number)
    except telephony.AccountRefusal as error:
        return refusal_explanation(error.kind, caller_id=number)
    if found.usable:
        return None
    return caller_id_problem_text(number)


def caller_id_problem_text(number: str) -> str:
    return _(
        "The caller ID %(number)s is neither a number of the Twilio account nor a verified "
        "caller ID, so Twilio would refuse every call (error 21210). Buy or port the number "
        "into the account, or verify it under Phone Numbers › Verified Caller IDs, or choose "
        "another caller ID in the campaign's settings."
    ) % {"number": number}


def start_checks(rules: CampaignSettings) -> None:
    """Refuses to start or resume a campaign Twilio would not call for. A carrier that
    cannot be reached is no reason to refuse: the first call asks again, and an account
    refusal then pauses the campaign."""
    if telephony.mode() == "off":
        raise ValidationError(
            _(
                "No call can be placed: Twilio's credentials (TWILIO_ACCOUNT_SID, "
                "TWILIO_AUTH_TOKEN) are not set and the sandbox is off. Set the credentials, "
                "or WAIHU_SANDBOX=true to simulate the calls."
            )
        )
    problem = public_url_problem()
    if problem:
        raise ValidationError(problem)
    number = caller_id_of(rules)
    try:
        problem = caller_id_problem(number)
    except telephony.TelephonyError as error:
        logger.warning("caller ID %s not checked: %s", number, error)
        return
    if problem:
        raise ValidationError(problem)


# --- refusals of the account -----------------------------------------------------------


def refusal_explanation(reason: str, *, caller_id: str = "") -> str:
    """What the refusal means and what to do about it, in the current language."""
    texts = {
        Reason.GEO_PERMISSION: _(
            "Twilio refused the call: the account's voice geographic permissions do not "
            "allow calling this country. Enable the country in the Twilio console under "
            "Voice › Settings › Geo permissions, then resume the campaign."
        ),
        Reason.BLOCKED: _(
            "Twilio blocked the call: the destination is on Twilio's block list (a high "
            "risk of fraud, or a regulatory restriction). Ask Twilio Support to review it, "
            "or put the number on the do-not-call list, then resume the campaign."
        ),
        Reason.CALLER_ID: _(
            "Twilio refused the caller ID %(number)s: the account neither owns it nor has "
            "verified it. Buy or port the number into the account, or verify it under Phone "
            "Numbers › Verified Caller IDs, then resume the campaign."
        )
        % {"number": caller_id or "—"},
        Reason.AUTHENTICATION: _(
            "Twilio did not accept Waihu's credentials. Check TWILIO_ACCOUNT_SID and "
            "TWILIO_AUTH_TOKEN against the Twilio console, restart Waihu, then resume the "
            "campaign."
        ),
        Reason.ACCOUNT_INACTIVE: _(
            "The Twilio account is suspended or not active (for example, its balance ran "
            "out). Settle it with Twilio, then resume the campaign."
        ),
    }
    return texts.get(reason, _("Twilio refused the call for a reason of the account."))


def campaign_refuse(*, campaign_id: int, error: telephony.AccountRefusal) -> bool:
    """The account refused a call: the campaign pauses (if it is still running) with the
    reason, the outbound administrators are told, and the calls Twilio still holds in its
    queue are canceled. Returns whether this refusal paused the campaign."""
    from outbound.dialer import tasks  # the tasks module imports the services

    now = timezone.now()
    with transaction.atomic():
        paused = CampaignSettings.objects.filter(pk=campaign_id, state=State.RUNNING).update(
            state=State.PAUSED,
            state_changed_at=now,
            paused_reason=error.kind,
            paused_code=str(error.code or ""),
            paused_detail=str(error)[:255],
        )
        if paused:
            logger.warning(
                "campaign %s paused: Twilio refused a call (%s, %s): %s",
                campaign_id,
                error.kind,
                error.code,
                error,
            )
            transaction.on_commit(lambda: tasks.account_refused.delay(campaign_id))
    return bool(paused)
