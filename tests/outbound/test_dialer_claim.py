"""Claiming due contacts: the calling window in the contact's local time, the date range
and excluded dates, the do-not-call and red lists, pacing and the concurrent-call cap,
deadlines first for complaint callbacks, and constant queries per batch."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outbound import telephony
from outbound.contacts import services as contact_services
from outbound.dialer import services, windows
from outbound.models import (
    AccountPacing,
    CallAttempt,
    CampaignSettings,
    Contact,
    DialState,
    WorkOrder,
)
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, phones, start

pytestmark = pytest.mark.django_db

# The shared fixtures, used by name.
carrier, org, telephony_settings = fx.carrier, fx.org, fx.telephony_settings
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# A Wednesday, 10:00 in Shanghai.
WEDNESDAY_10 = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _settings(telephony_settings, django_capture_on_commit_callbacks):
    telephony_settings.WAIHU_DIALER_BATCH_SIZE = 500
    global _capture
    _capture = django_capture_on_commit_callbacks


def _dial(order, now=None):
    """One tick of the dialer for `order`, the queued placing tasks run (eagerly)."""
    with _capture(execute=True):
        return services.campaign_dial(campaign_id=order.pk, now=now)


def test_claims_due_contacts_and_places_their_calls(org, carrier):
    order = start(make_campaign(org, phones=phones(5)), org)
    ids = _dial(order)
    assert len(ids) == 5
    assert sorted(carrier.numbers) == phones(5)
    assert carrier.calls[0]["from_"] == "+8673110086"
    assert {call["twiml_url"] for call in carrier.calls} == {
        f"http://testserver/telephony/attempts/{pk}/twiml/" for pk in ids
    }
    assert {call["status_callback"] for call in carrier.calls} == {
        f"http://testserver/telephony/attempts/{pk}/status/" for pk in ids
    }
    assert set(DialState.objects.values_list("status", flat=True)) == {"dialing"}
    attempts = CallAttempt.objects.all()
    assert {a.status for a in attempts} == {"queued"}
    assert all(a.call_sid and a.placed_at and a.number == 1 for a in attempts)
    # Nothing is due any more: a second tick claims nobody.
    assert _dial(order) == [] and len(carrier.calls) == 5


def test_caller_id_can_be_set_per_campaign(org, carrier):
    order = start(make_campaign(org, phones=phones(1), caller_id="+8673112345"), org)
    _dial(order)
    assert carrier.calls[0]["from_"] == "+8673112345"


@pytest.mark.parametrize("state", ["not_started", "paused", "stopped"])
def test_a_campaign_not_running_places_no_call(org, carrier, state):
    order = make_campaign(org, phones=phones(3))
    services.contacts_enrol(campaign_id=order.pk)
    CampaignSettings.objects.filter(pk=order.pk).update(state=state)
    assert _dial(order) == [] and carrier.calls == []


def test_pausing_between_claim_and_placing_places_nothing(org, carrier, monkeypatch):
    order = start(make_campaign(org, phones=phones(2)), org)
    from outbound.dialer import tasks

    queued = []
    monkeypatch.setattr(
        tasks.place_calls, "apply_async", lambda args, countdown=0: queued.append(args)
    )
    _dial(order)
    services.campaign_pause(campaign=order, user=org.outbound_admin)
    for args in queued:
        services.calls_place(attempt_ids=args[0])
    assert carrier.calls == [] and CallAttempt.objects.count() == 0
    assert set(DialState.objects.values_list("status", "attempts")) == {("pending", 0)}


def test_calling_window_in_the_contacts_local_time(org, carrier):
    hours = {str(day): ["09:00", "20:00"] for day in range(1, 6)}  # weekdays only
    # The campaign is set up and started the day before, for the week of the dial.
    with time_machine.travel(WEDNESDAY_10 - datetime.timedelta(days=1), tick=False):
        order = start(
            make_campaign(
                org,
                phones=["+8613800000001", "+12025550123"],
                weekly_hours=hours,
                starts_on=datetime.date(2026, 11, 23),
                ends_on=datetime.date(2026, 11, 29),
            ),
            org,
        )
    # 10:00 in Shanghai is 21:00 the day before in Washington: only the Chinese number.
    _dial(order, now=WEDNESDAY_10)
    assert carrier.numbers == ["+8613800000001"]
    us = DialState.objects.get(contact__phone="+12025550123")
    new_york = zoneinfo.ZoneInfo("America/New_York")
    assert us.status == "pending"
    assert us.next_attempt_at == datetime.datetime(2026, 11, 25, 9, 0, tzinfo=new_york)


def test_window_edges_and_weekends(org):
    rules = CampaignSettings(
        weekly_hours={str(day): ["09:00", "20:00"] for day in range(1, 6)},
        excluded_dates=["2026-11-26"],
        starts_on=datetime.date(2026, 11, 24),
        ends_on=datetime.date(2026, 11, 30),
    )
    at = lambda d, h, m=0: datetime.datetime(2026, 11, d, h, m, tzinfo=SHANGHAI)  # noqa: E731
    assert windows.is_open(rules, at(25, 9), SHANGHAI)
    assert not windows.is_open(rules, at(25, 8, 59), SHANGHAI)
    assert windows.is_open(rules, at(25, 19, 59), SHANGHAI)
    assert not windows.is_open(rules, at(25, 20), SHANGHAI)
    assert not windows.is_open(rules, at(26, 10), SHANGHAI)  # excluded (a holiday)
    assert not windows.is_open(rules, at(28, 10), SHANGHAI)  # Saturday
    assert not windows.is_open(rules, at(23, 10), SHANGHAI)  # before the range
    assert windows.next_opening(rules, at(25, 20), SHANGHAI) == at(27, 9)
    assert windows.next_opening(rules, at(27, 21), SHANGHAI) == at(30, 9)
    assert windows.next_opening(rules, at(30, 20), SHANGHAI) is None


def test_zone_of_a_number_defaults_to_shanghai():
    assert windows.zone_for_number("+8613800000000").key == "Asia/Shanghai"
    assert windows.zone_for_number("+442071838750").key == "Europe/London"
    assert windows.zone_for_number("+12025550123").key == "America/New_York"
    assert windows.zone_for_number("garbage").key == "Asia/Shanghai"


def test_contacts_past_the_last_day_are_finished(org, carrier):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    order = start(make_campaign(org, phones=phones(2), ends_on=yesterday), org)
    assert _dial(order) == []
    assert set(DialState.objects.values_list("status", flat=True)) == {"finished"}


def test_excluded_numbers_are_never_dialled(org, carrier):
    numbers = phones(4)
    order = start(make_campaign(org, phones=numbers), org)
    contact_services.dnc_add(phone=numbers[0], source="manual")
    contact_services.dnc_add(phone=numbers[1], source="call", campaign=order)
    today = timezone.localdate()
    contact_services.red_list_add(phone=numbers[2], starts_on=today, ends_on=today)
    _dial(order)
    assert carrier.numbers == [numbers[3]]
    reasons = dict(DialState.objects.values_list("contact__phone", "excluded_reason"))
    assert reasons[numbers[0]] == reasons[numbers[1]] == "do_not_call"
    assert reasons[numbers[2]] == "red_list"
    assert DialState.objects.filter(status="excluded").count() == 3


def test_pacing_hands_out_calls_per_second_and_caps_calls_at_once(org, carrier, monkeypatch):
    from outbound.dialer import tasks

    queued = []
    monkeypatch.setattr(
        tasks.place_calls,
        "apply_async",
        lambda args, countdown=0: queued.append((countdown, len(args[0]))),
    )
    order = start(
        make_campaign(org, phones=phones(50), calls_per_second=2.0, max_concurrent=8), org
    )
    # On a second of the clock, so that each second's calls form one group.
    now = timezone.now().replace(microsecond=0) + datetime.timedelta(seconds=1)
    # A 2-second tick at 2 calls a second: 4 calls, in two one-second groups.
    assert len(_dial(order, now=now)) == 4
    assert sorted(queued) == [(0, 2), (1, 2)]
    # Slots up to now + 2 s are given out: the same moment gets nothing more.
    assert _dial(order, now=now) == []
    assert len(_dial(order, now=now + datetime.timedelta(seconds=2))) == 4
    # 8 calls are open: the cap holds even though pacing would allow more.
    assert _dial(order, now=now + datetime.timedelta(seconds=4)) == []
    CallAttempt.objects.filter(pk__in=CallAttempt.objects.values("pk")[:3]).update(
        finished_at=timezone.now(), outcome="busy"
    )
    assert len(_dial(order, now=now + datetime.timedelta(seconds=6))) == 3


def test_complaint_callbacks_call_the_nearest_deadline_first(org, carrier, telephony_settings):
    telephony_settings.WAIHU_DIALER_BATCH_SIZE = 2
    numbers = phones(4)
    order = make_campaign(org, phones=numbers, kind=WorkOrder.Kind.COMPLAINT_CALLBACK)
    today = timezone.localdate()
    for offset, phone in zip((5, 1, None, 3), numbers, strict=True):
        deadline = today + datetime.timedelta(days=offset) if offset is not None else None
        Contact.objects.filter(phone=phone).update(deadline=deadline)
    start(order, org)
    _dial(order)
    assert sorted(carrier.numbers) == [numbers[1], numbers[3]]


def test_queries_per_batch_do_not_grow_with_the_batch(org, carrier, on_postgres):
    # The account's pacing row is made by the first claim of the account's life.
    AccountPacing.objects.create(account_sid=telephony.account_sid())

    ticks = iter(range(1, 10))
    first_second = timezone.now().replace(microsecond=0)

    def queries(count: int, offset: int) -> int:
        order = start(make_campaign(org, phones=phones(count, offset)), org)
        # Each batch is placed at the start of a second of its own, the clock standing
        # still: a batch paced across a second (or into one the last batch began) would
        # go out in a second placing task, a query count of its own.
        moment = first_second + datetime.timedelta(seconds=5 * next(ticks))
        with (
            time_machine.travel(moment, tick=False),
            CaptureQueriesContext(connection) as captured,
        ):
            assert len(_dial(order)) == count
        return len(
            [
                q
                for q in captured.captured_queries
                if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
            ]
        )

    # A first tick fills what the process keeps between ticks (the official calendar's
    # days, the account's pacing row): only the ticks after it are compared.
    queries(2, 5000)
    small = queries(3, 0)
    large = queries(120, 1000)
    # SQLite takes at most 999 parameters a statement, so its bulk insert of the attempts
    # comes in a few pieces; PostgreSQL sends one.
    assert large == small if on_postgres else small <= large <= small + 3, (small, large)
    # (One of them numbers the attempts after those that never reached the carrier, one
    # takes the attempts for placing so that settling leaves them alone meanwhile.)
    assert large <= 19


def test_invalid_numbers_are_marked_and_transient_errors_retried(org, carrier):
    numbers = phones(3)
    order = start(make_campaign(org, phones=numbers), org)
    carrier.refuse[numbers[0]] = telephony.InvalidNumber("bad", code=21211)
    carrier.refuse[numbers[1]] = telephony.CallRejected("no", code=13224)
    flaky = telephony.TransientError("slow down", code=20429, status=429)
    carrier.refuse[numbers[2]] = flaky

    original = carrier.place_call
    tries = []

    def once_flaky(**kwargs):
        if kwargs["to"] == numbers[2]:
            tries.append(1)
            if len(tries) > 2:
                carrier.refuse.pop(numbers[2], None)
        return original(**kwargs)

    import outbound.telephony

    outbound.telephony.place_call = once_flaky
    with time_machine.travel(timezone.now(), tick=True):
        _dial(order)
    states = dict(DialState.objects.values_list("contact__phone", "status"))
    assert states[numbers[0]] == "invalid"
    assert states[numbers[1]] == "pending"  # failed: retried after the policy's delay
    assert states[numbers[2]] == "dialing" and len(tries) == 3
    invalid = CallAttempt.objects.get(contact__phone=numbers[0])
    assert invalid.outcome == "invalid" and invalid.error_code == "21211"
    rejected = CallAttempt.objects.get(contact__phone=numbers[1])
    assert rejected.outcome == "failed" and rejected.error_code == "13224"
    assert CallAttempt.objects.get(contact__phone=numbers[2]).call_sid
