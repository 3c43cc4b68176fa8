"""The retry policy by outcome, the attempt limit, and a callback time winning over both."""

import datetime

import pytest

from outbound.dialer import policy
from outbound.models import CampaignSettings, DialState, Outcome

NOW = datetime.datetime(2026, 11, 25, 2, 0, tzinfo=datetime.UTC)
RULES = CampaignSettings(
    max_attempts=3,
    retry_busy=True,
    retry_busy_minutes=15,
    retry_no_answer=True,
    retry_no_answer_minutes=60,
    retry_failed=False,
    retry_machine=True,
    retry_machine_minutes=240,
)


@pytest.mark.parametrize(
    ("outcome", "made", "status", "minutes"),
    [
        (Outcome.ANSWERED, 1, "reached", None),
        (Outcome.INVALID, 1, "invalid", None),
        (Outcome.BUSY, 1, "pending", 15),
        (Outcome.NO_ANSWER, 2, "pending", 60),
        (Outcome.MACHINE, 1, "pending", 240),
        (Outcome.FAILED, 1, "finished", None),  # this campaign does not retry failures
        (Outcome.LOST, 1, "finished", None),
        (Outcome.BUSY, 3, "finished", None),  # attempts used up
    ],
)
def test_next_step_by_outcome(outcome, made, status, minutes):
    step = policy.next_step(
        rules=RULES, outcome=outcome, attempts_made=made, callback_at=None, now=NOW
    )
    assert step.status == status
    expected = NOW + datetime.timedelta(minutes=minutes) if minutes is not None else None
    assert step.next_attempt_at == expected


def test_a_callback_time_overrides_the_policy():
    at = NOW + datetime.timedelta(hours=26)
    for outcome, made in ((Outcome.FAILED, 1), (Outcome.BUSY, 3), (Outcome.NO_ANSWER, 1)):
        step = policy.next_step(
            rules=RULES, outcome=outcome, attempts_made=made, callback_at=at, now=NOW
        )
        assert step == policy.NextStep(DialState.Status.PENDING, at)
    reached = policy.next_step(
        rules=RULES, outcome=Outcome.ANSWERED, attempts_made=1, callback_at=at, now=NOW
    )
    assert reached.status == DialState.Status.REACHED


@pytest.mark.parametrize(
    ("status", "answered_by", "error", "outcome"),
    [
        ("completed", "", "", Outcome.ANSWERED),
        ("completed", "human", "", Outcome.ANSWERED),
        ("completed", "machine_end_beep", "", Outcome.MACHINE),
        ("completed", "fax", "", Outcome.MACHINE),
        ("busy", "", "", Outcome.BUSY),
        ("no-answer", "", "", Outcome.NO_ANSWER),
        ("canceled", "", "", Outcome.CANCELED),
        ("failed", "", "", Outcome.FAILED),
        ("failed", "", "21214", Outcome.INVALID),
        ("failed", "", "31005", Outcome.FAILED),
    ],
)
def test_disposition_from_the_final_status(status, answered_by, error, outcome):
    assert policy.outcome_for(status=status, answered_by=answered_by, error_code=error) == outcome
