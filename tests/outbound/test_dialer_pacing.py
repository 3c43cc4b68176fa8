"""The account's calls per second, shared by every campaign: whatever the campaigns ask and
however many dialers claim at once, no second of the clock sees more calls handed to
Twilio than the account's budget; a campaign's own cap may only be lower. Pausing cancels
the calls Twilio still holds in its queue, stopping those ringing too."""

import datetime
import math
import threading
from collections import Counter

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from outbound.dialer import services, tasks
from outbound.models import AccountPacing, CallAttempt, CampaignSettings, DialState, SandboxCall
from outbound.sandbox import play
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, phones, start

# The shared fixtures, used by name.
org, sandbox, telephony_settings = fx.org, fx.sandbox, fx.telephony_settings


@pytest.fixture
def handed(monkeypatch):
    """The calls handed to Twilio, as (moment, how many), instead of placing them."""
    groups: list[tuple[datetime.datetime, int]] = []
    lock = threading.Lock()
    clock = threading.local()

    def apply_async(args, countdown=0):
        with lock:
            groups.append((clock.now + datetime.timedelta(seconds=countdown), len(args[0])))

    monkeypatch.setattr(tasks.place_calls, "apply_async", apply_async)

    def dial(order, now):
        clock.now = now
        return services.campaign_dial(campaign_id=order.pk, now=now)

    return groups, dial


def per_second(groups) -> Counter:
    seconds: Counter = Counter()
    for at, count in groups:
        seconds[math.floor(at.timestamp())] += count
    return seconds


@pytest.mark.django_db(transaction=True)
def test_two_campaigns_together_keep_to_the_accounts_rate(org, handed, settings):
    settings.WAIHU_ACCOUNT_CPS = 2.0
    groups, dial = handed
    # Each campaign would take the whole account (or more) on its own.
    first = start(make_campaign(org, phones=phones(100)), org)
    second = start(make_campaign(org, phones=phones(100, 500), calls_per_second=5.0), org)
    CampaignSettings.objects.update(calls_per_second=5.0)
    now = timezone.now().replace(microsecond=0) + datetime.timedelta(seconds=1)
    claimed = Counter()
    for tick in range(0, 30, 2):  # 30 seconds of the dialer's two-second ticks
        at = now + datetime.timedelta(seconds=tick)
        for order in (first, second) if tick % 4 else (second, first):
            claimed[order.pk] += len(dial(order, at))
    seconds = per_second(groups)
    assert max(seconds.values()) <= 2
    # Over the whole run: the account's rate, and both campaigns had their share.
    assert sum(claimed.values()) == sum(seconds.values()) == 2 * 30
    assert claimed[first.pk] >= 20 and claimed[second.pk] >= 20
    budget = AccountPacing.objects.get()
    assert budget.paced_until == now + datetime.timedelta(seconds=30)


@pytest.mark.django_db(transaction=True)
def test_dialers_claiming_at_once_share_the_budget(org, handed, settings, on_postgres):
    """Several dialers (Celery workers) claim for two campaigns at the same moment: the
    account's row serialises them (SELECT … FOR UPDATE on PostgreSQL)."""
    settings.WAIHU_ACCOUNT_CPS = 3.0
    groups, dial = handed
    campaigns = [
        start(make_campaign(org, phones=phones(60, offset), calls_per_second=3.0), org)
        for offset in (0, 1000)
    ]
    now = timezone.now().replace(microsecond=0) + datetime.timedelta(seconds=1)
    dialers = 6
    rounds = 5
    errors: list[BaseException] = []
    barrier = threading.Barrier(dialers)

    def work(n: int) -> None:
        try:
            for tick in range(rounds):
                barrier.wait(timeout=30)
                dial(campaigns[n % 2], now + datetime.timedelta(seconds=2 * tick))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(dialers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    seconds = per_second(groups)
    assert max(seconds.values()) <= 3
    # Every slot of the ten seconds is used once, never twice.
    assert sum(seconds.values()) == CallAttempt.objects.count() == 3 * 2 * rounds
    assert DialState.objects.filter(status="dialing").count() == 3 * 2 * rounds


@pytest.mark.django_db
def test_a_campaigns_own_rate_can_only_be_lower(client, org, telephony_settings):
    telephony_settings.WAIHU_ACCOUNT_CPS = 2.0
    order = make_campaign(org, phones=phones(1), calls_per_second=1.0)
    client.force_login(org.outbound_admin)
    url = reverse("campaigns:settings", args=[order.pk])
    form = client.get(url).content.decode()
    assert 'max="2"' in form and "per second, shared by every campaign: 2." in form
    data = {
        "max_attempts": 3,
        "retry_busy_minutes": 30,
        "retry_no_answer_minutes": 120,
        "retry_failed_minutes": 60,
        "retry_machine_minutes": 240,
        "calls_per_second": 2.5,
        "max_concurrent": 10,
        "from_1": "09:00",
        "until_1": "18:00",
    }
    refused = client.post(url, data)
    assert refused.status_code == 200
    [message] = refused.context["form"].errors["calls_per_second"]
    assert message.startswith("At most 2: the Twilio account places that many calls a second")
    assert CampaignSettings.objects.get(pk=order.pk).calls_per_second == 1.0
    assert client.post(url, {**data, "calls_per_second": 2}).status_code == 302
    assert CampaignSettings.objects.get(pk=order.pk).calls_per_second == 2.0


@pytest.mark.django_db(transaction=True)
def test_a_campaign_asking_more_than_the_account_gets_the_accounts_rate(org, handed, settings):
    settings.WAIHU_ACCOUNT_CPS = 1.0
    groups, dial = handed
    order = start(make_campaign(org, phones=phones(10), calls_per_second=50.0), org)
    now = timezone.now().replace(microsecond=0) + datetime.timedelta(seconds=1)
    assert len(dial(order, now)) == 2
    assert sorted(groups) == [(now, 1), (now + datetime.timedelta(seconds=1), 1)]


@pytest.mark.django_db(transaction=True)
def test_pausing_cancels_the_calls_twilio_holds_and_stopping_those_ringing(client, org, sandbox):
    # One attempt a contact: a call canceled in Twilio's queue must not use it up.
    order = start(make_campaign(org, phones=phones(3), max_attempts=1), org)
    services.campaign_dial(campaign_id=order.pk)
    attempts = list(CallAttempt.objects.order_by("pk"))
    assert {a.status for a in attempts} == {"queued"}
    # One call leaves Twilio's queue and rings; its callbacks reach Waihu.
    ringing = attempts[0]
    # (A call the sandbox drew to fail would stop at "initiated": this one is to be answered.)
    SandboxCall.objects.filter(sid=ringing.call_sid).update(plan="completed")
    play.dial(SandboxCall.objects.get(sid=ringing.call_sid))
    ringing.refresh_from_db()
    assert ringing.status == "ringing"

    client.force_login(org.outbound_admin)
    client.post(reverse("campaigns:control", args=[order.pk, "pause"]))
    calls = dict(SandboxCall.objects.values_list("sid", "status"))
    assert calls[ringing.call_sid] == "ringing"
    for attempt in attempts[1:]:
        attempt.refresh_from_db()
        assert calls[attempt.call_sid] == "canceled"
        assert attempt.status == "canceled" and attempt.outcome == "canceled"
        state = DialState.objects.get(pk=attempt.contact_id)
        assert state.status == "pending" and state.next_attempt_at <= timezone.now()
    ringing.refresh_from_db()
    assert ringing.finished_at is None

    client.post(reverse("campaigns:control", args=[order.pk, "stop"]))
    ringing.refresh_from_db()
    assert SandboxCall.objects.get(sid=ringing.call_sid).status == "canceled"
    assert ringing.outcome == "canceled"


@pytest.mark.django_db(transaction=True)
def test_a_call_answered_meanwhile_goes_on(org, sandbox):
    order = start(make_campaign(org, phones=["+15005550100"]), org)
    services.campaign_dial(campaign_id=order.pk)
    attempt = CallAttempt.objects.get()
    call = SandboxCall.objects.get(sid=attempt.call_sid)
    play.dial(call)
    play.connect(call)
    # The answer's callback is still on its way: Waihu believes the call rings.
    CallAttempt.objects.filter(pk=attempt.pk).update(status="ringing", status_rank=3)
    counts = services.calls_cancel(campaign_id=order.pk, statuses=services.STOP_CANCELS)
    assert counts == {"canceled": 0, "going": 1, "unreachable": 0}
    assert SandboxCall.objects.get(sid=attempt.call_sid).status == "in-progress"
    attempt.refresh_from_db()
    assert attempt.finished_at is None
