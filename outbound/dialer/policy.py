"""What becomes of a contact after an attempt: reached, finished, invalid, or called again
and when. A callback time set on the contact wins over the campaign's policy."""

import datetime
from dataclasses import dataclass

from outbound.models import CampaignSettings, DialState, Outcome
from outbound.telephony import INVALID_NUMBER_CODES

MACHINE_ANSWERS = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other")


def outcome_for(*, status: str, answered_by: str = "", error_code: str = "") -> str:
    """The disposition of a call from its final Twilio status."""
    if status == "completed":
        if answered_by in MACHINE_ANSWERS or answered_by == "fax":
            return Outcome.MACHINE
        return Outcome.ANSWERED
    if status == "busy":
        return Outcome.BUSY
    if status == "no-answer":
        return Outcome.NO_ANSWER
    if status == "canceled":
        return Outcome.CANCELED
    if error_code.isdigit() and int(error_code) in INVALID_NUMBER_CODES:
        return Outcome.INVALID
    return Outcome.FAILED


@dataclass(frozen=True)
class NextStep:
    status: str
    next_attempt_at: datetime.datetime | None = None


def next_step(
    *,
    rules: CampaignSettings,
    outcome: str,
    attempts_made: int,
    callback_at: datetime.datetime | None,
    now: datetime.datetime,
) -> NextStep:
    if outcome == Outcome.ANSWERED:
        return NextStep(DialState.Status.REACHED)
    if outcome == Outcome.INVALID:
        return NextStep(DialState.Status.INVALID)
    if callback_at is not None:
        return NextStep(DialState.Status.PENDING, max(callback_at, now))
    retry, minutes = rules.retry_rule(outcome)
    if retry and attempts_made < rules.max_attempts:
        return NextStep(DialState.Status.PENDING, now + datetime.timedelta(minutes=minutes))
    return NextStep(DialState.Status.FINISHED)
