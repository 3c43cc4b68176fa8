"""Call outcome figures of a campaign, each counted by hand from the table in
tests/reports/campaign_data.py, and AAPOR's rates against a worked example."""

import datetime

import pytest
from django.utils import timezone

from accounts.roles import Role
from outbound.models import CallAttempt, Outcome, WorkOrder
from reports import outcomes
from reports.outcomes import Counts, final_disposition
from tests.factories import Org, UserFactory, make_order
from tests.reports.campaign_data import D1, D2, build_campaign


def test_rates_of_a_worked_example():
    # 40 complete, 10 partial, 20 refusals, 20 non-contacts, 5 other, 4 + 1 unknown:
    # the denominator (I+P) + (R+NC+O) + (UH+UO) is 50 + 45 + 5 = 100.
    c = Counts(I=40, P=10, R=20, NC=20, O=5, UH=4, UO=1)
    assert c.denominator == 100
    assert outcomes.rr1(c) == pytest.approx(0.40)
    assert outcomes.rr2(c) == pytest.approx(0.50)
    assert outcomes.coop1(c) == pytest.approx(40 / 75)  # I / (50 + 20 + 5)
    assert outcomes.ref1(c) == pytest.approx(0.20)
    assert outcomes.con1(c) == pytest.approx(0.75)  # (50 + 20 + 5) / 100


def test_rates_without_cases_are_none():
    empty = Counts()
    assert [f(empty) for f in (outcomes.rr1, outcomes.coop1, outcomes.con1)] == [None] * 3


@pytest.mark.parametrize(
    ("disposition", "status", "last", "attempts", "expected", "code"),
    [
        ("completed", "reached", "answered", 1, "completed", "I"),
        ("partial", "pending", "answered", 1, "partial", "P"),
        ("do_not_call", "excluded", "answered", 1, "do_not_call", "R"),
        ("callback", "pending", "answered", 1, "callback", "NC"),
        ("not_eligible", "reached", "answered", 1, "not_eligible", "NE"),
        ("", "finished", "no_answer", 3, "no_answer", "NC"),
        ("", "pending", "busy", 1, "busy", "NC"),
        ("", "finished", "machine", 1, "machine", "NC"),
        ("", "finished", "lost", 1, "failed", "UH"),
        ("", "reached", "answered", 1, "answered", "UO"),
        ("", "invalid", "invalid", 1, "invalid", "NE"),
        ("", "pending", "", 0, "not_called", "UH"),
        (None, None, None, 0, "not_called", "UH"),
        ("", "excluded", "", 0, "excluded", "NR"),
        ("", "excluded", "busy", 2, "do_not_call", "R"),
    ],
)
def test_final_disposition_mapping(disposition, status, last, attempts, expected, code):
    key = final_disposition(
        disposition=disposition, status=status, last_outcome=last, attempts=attempts
    )
    assert key == expected
    assert outcomes.CODE_OF[key] == code


@pytest.fixture
def campaign(db, demo_version):
    org = Org()
    order = make_order(org.requester)
    WorkOrder.objects.filter(pk=order.pk).update(
        questionnaire=demo_version, run_status=WorkOrder.RunStatus.READY
    )
    order.refresh_from_db()
    a = UserFactory(username="agent_a", display_name="Agent A", roles=[Role.CALL_AGENT])
    b = UserFactory(username="agent_b", display_name="Agent B", roles=[Role.CALL_AGENT])
    build_campaign(order, a, b)
    return order, a, b


def test_campaign_figures(campaign, django_assert_num_queries):
    order, _a, _b = campaign
    # The final dispositions, the totals, two each by day, by hour and by agent.
    with django_assert_num_queries(8):
        result = outcomes.campaign_outcomes(campaign=order)
    by_key = {row.key: row.count for row in result.finals}
    assert by_key == {
        "completed": 3,
        "partial": 1,
        "refused": 1,
        "do_not_call": 1,
        "callback": 1,
        "no_answer": 1,
        "busy": 1,
        "machine": 1,
        "answered": 1,
        "failed": 1,
        "not_called": 2,
        "not_eligible": 1,
        "wrong_number": 1,
        "invalid": 1,
        "excluded": 1,
    }
    assert result.contacts == 18
    assert (result.completed, result.partial, result.refused, result.do_not_call) == (3, 1, 1, 1)
    assert (result.no_answer, result.busy, result.invalid) == (1, 1, 2)
    assert result.counts == Counts(I=3, P=1, R=2, NC=4, O=0, UH=3, UO=1)
    assert (result.not_eligible, result.not_released) == (3, 1)
    # 2+1+2+1+1+1+1+3+1+1+1 for c1..c11, then c14, c15, c16, c18: 19 calls to 15 contacts,
    # 10 of whom answered (c1-c7, c14, c15, c18).
    assert (result.attempts, result.contacts_attempted, result.reached) == (19, 15, 10)
    assert result.attempts_per_complete == pytest.approx(19 / 3)
    # Denominator 4 + 6 + 4 = 14.
    assert result.rate("RR1") == pytest.approx(3 / 14)
    assert result.rate("RR2") == pytest.approx(4 / 14)
    assert result.rate("COOP1") == pytest.approx(3 / 6)
    assert result.rate("REF1") == pytest.approx(2 / 14)
    assert result.rate("CON1") == pytest.approx(6 / 14)


def test_by_day_and_hour(campaign):
    order, _a, _b = campaign
    result = outcomes.campaign_outcomes(campaign=order)
    days = [(p.key, p.attempts, p.reached, p.completes) for p in result.by_day]
    assert days == [(D1, 12, 5, 0), (D2, 7, 5, 3)]
    hours = {p.key: (p.attempts, p.reached, p.completes) for p in result.by_hour}
    assert hours == {
        9: (1, 1, 0),
        10: (9, 1, 0),
        11: (2, 2, 0),
        12: (1, 1, 0),
        13: (1, 1, 0),
        14: (2, 2, 2),
        15: (1, 1, 1),
        16: (1, 1, 0),
        17: (1, 0, 0),
    }


def test_by_agent(campaign):
    order, _a, _b = campaign
    rows = {row.name: row for row in outcomes.campaign_outcomes(campaign=order).by_agent}
    first, second = rows["Agent A"], rows["Agent B"]
    assert (first.interviews, first.completes) == (5, 2)
    # D1 11:00-13:03 and D2 14:00-15:06.
    assert first.hours == pytest.approx(2.05 + 1.1)
    assert first.completes_per_hour == pytest.approx(2 / 3.15)
    assert first.average_minutes == pytest.approx(8)  # (10 + 6) / 2
    # B's open interviews count to the hour they began: D1 12:00 alone, D2 10:30-16:00.
    assert (second.interviews, second.completes) == (2, 1)
    assert second.hours == pytest.approx(5.5)
    assert second.average_minutes == pytest.approx(8)


def test_dates_and_agent_narrow_the_activity_not_the_sample(campaign):
    order, a, _b = campaign
    result = outcomes.campaign_outcomes(campaign=order, date_from=D2, date_to=D2)
    assert result.contacts == 18 and result.rate("RR1") == pytest.approx(3 / 14)
    assert result.attempts == 7
    assert [p.key for p in result.by_day] == [D2]
    rows = {row.name: (row.interviews, row.completes) for row in result.by_agent}
    assert rows == {"Agent A": (2, 2), "Agent B": (2, 1)}

    mine = outcomes.campaign_outcomes(campaign=order, agent=a)
    # The calls of A's interviews: c1's second, c2, c5, c6 and c14.
    assert mine.attempts == 5
    assert [row.name for row in mine.by_agent] == ["Agent A"]
    assert sum(p.completes for p in mine.by_day) == 2

    before = outcomes.campaign_outcomes(campaign=order, date_to=D1 - datetime.timedelta(days=1))
    assert before.attempts == 0 and before.by_day == [] and before.by_agent == []


def test_attempts_that_never_reached_the_carrier_are_no_calls(campaign):
    order, _a, _b = campaign
    before = outcomes.campaign_outcomes(campaign=order)
    contact = order.contacts.order_by("pk").last()
    CallAttempt.objects.create(
        campaign=order,
        contact=contact,
        number=9,
        to=contact.phone,
        caller_id="+8673110086",
        outcome=Outcome.NOT_PLACED,
        finished_at=timezone.now(),
    )
    after = outcomes.campaign_outcomes(campaign=order)
    assert after.attempts == before.attempts
    assert after.contacts_attempted == before.contacts_attempted
    assert sum(p.attempts for p in after.by_hour) == sum(p.attempts for p in before.by_hour)
