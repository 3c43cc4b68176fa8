"""The account behind a campaign: a caller ID the account neither owns nor has verified
and, with real credentials, a public address Twilio cannot reach stop the start; each kind
of account refusal pauses the campaign with its reason, spares the contact its attempt,
e-mails the outbound administrators and shows on the campaign page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from outbound import telephony
from outbound.agent import services as agent_services
from outbound.dialer import services
from outbound.models import CallAttempt, CampaignSettings, DialState
from tests.factories import UserFactory
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import AGENT_PHONE, agent_campaign
from tests.outbound.test_dialer_fixtures import make_campaign, open_attempt, phones, signed_post

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
carrier, org, sandbox, telephony_settings = fx.carrier, fx.org, fx.sandbox, fx.telephony_settings

NOT_OURS = "+8673199999"


def _act(client, order, action: str):
    return client.post(reverse("campaigns:control", args=[order.pk, action]), follow=True)


def _state(order) -> CampaignSettings:
    return CampaignSettings.objects.get(pk=order.pk)


def test_a_caller_id_the_account_does_not_have_cannot_start(client, org, sandbox, settings):
    order = make_campaign(org, phones=phones(2), caller_id=NOT_OURS)
    client.force_login(org.outbound_admin)
    page = _act(client, order, "start").content.decode()
    assert _state(order).state == "not_started"
    assert f"The caller ID {NOT_OURS} is neither a number of the Twilio account" in page
    assert not DialState.objects.exists()
    # Verified as an outgoing caller ID, it may.
    settings.WAIHU_SANDBOX_VERIFIED_CALLER_IDS = [NOT_OURS]
    _act(client, order, "start")
    assert _state(order).state == "running"


def test_the_unified_caller_id_is_checked_too(client, org, sandbox, settings):
    settings.WAIHU_CALLER_ID = NOT_OURS
    order = make_campaign(org, phones=phones(1))
    client.force_login(org.outbound_admin)
    assert NOT_OURS in _act(client, order, "start").content.decode()
    assert _state(order).state == "not_started"


def test_resuming_checks_the_caller_id_again(client, org, sandbox, settings):
    order = make_campaign(org, phones=phones(1), caller_id="+8673112345")
    client.force_login(org.outbound_admin)
    _act(client, order, "start")
    _act(client, order, "pause")
    settings.WAIHU_SANDBOX_OWNED_NUMBERS = ["+8673110086"]
    page = _act(client, order, "resume").content.decode()
    assert _state(order).state == "paused" and "+8673112345" in page


def test_a_carrier_out_of_reach_does_not_stop_a_start(org, telephony_settings):
    # Nothing answers there: the first call will ask the account again.
    telephony_settings.WAIHU_SANDBOX_API_URL = "http://127.0.0.1:9"
    order = make_campaign(org, phones=phones(1), caller_id=NOT_OURS)
    services.campaign_start(campaign=order, user=org.outbound_admin)
    assert _state(order).state == "running"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://waihu.example.com", "is not https"),
        ("https://localhost:8443", "points at this machine itself"),
        ("https://127.0.0.1", "points at this machine itself"),
        ("https://[::1]:8443", "points at this machine itself"),
        ("https://0.0.0.0", "points at this machine itself"),
    ],
)
def test_with_twilio_credentials_the_public_address_must_be_one_twilio_reaches(
    client, org, settings, url, why
):
    order = make_campaign(org, phones=phones(1))
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "secret"
    settings.PUBLIC_BASE_URL = url
    client.force_login(org.outbound_admin)
    page = _act(client, order, "start").content.decode()
    assert _state(order).state == "not_started"
    assert why in page and "WAIHU_PUBLIC_BASE_URL" in page


def _dial(order) -> list[int]:
    """One tick of the dialer; the calls go to the sandbox at once (Celery runs eagerly)."""
    return services.campaign_dial(campaign_id=order.pk)


def _running(org, to: str, **rules):
    order = make_campaign(org, phones=[to], **rules)
    services.campaign_start(campaign=order, user=org.outbound_admin)
    return order


REFUSALS = [
    ("+15005550003", "geo_permission", "21215", "Geo permissions"),
    ("+15005550004", "blocked", "21216", "block list"),
    ("+15005550011", "authentication", "20003", "TWILIO_AUTH_TOKEN"),
    ("+15005550012", "account_inactive", "20403", "suspended or not active"),
]


@pytest.mark.parametrize(("to", "kind", "code", "advice"), REFUSALS)
def test_an_account_refusal_pauses_the_campaign_and_spares_the_contact(
    client, org, sandbox, mailoutbox, to, kind, code, advice
):
    order = _running(org, to)
    _dial(order)
    rules = _state(order)
    assert rules.state == "paused"
    assert (rules.paused_reason, rules.paused_code) == (kind, code)
    assert rules.paused_detail
    # The call never happened: the contact waits, due at once, with no attempt spent.
    state = DialState.objects.get(contact__phone=to)
    assert state.status == "pending" and state.attempts == 0
    assert state.next_attempt_at <= timezone.now()
    assert not CallAttempt.objects.exists()
    # The outbound administrator is told, in text and HTML.
    [mail] = mailoutbox
    assert mail.to == [org.outbound_admin.email]
    assert "Campaign paused by Twilio" in mail.subject and order.title in mail.subject
    assert advice in mail.body and code in mail.body
    html = mail.alternatives[0][0]
    assert advice in html and reverse("campaigns:detail", args=[order.pk]) in html
    # The campaign page says why, and what to do.
    client.force_login(org.requester)
    page = client.get(reverse("campaigns:detail", args=[order.pk])).content.decode()
    assert 'data-testid="pause-reason"' in page and advice in page
    assert f"https://www.twilio.com/docs/errors/{code}" in page
    # A second tick places nothing more while the campaign is paused.
    assert _dial(order) == [] and len(mailoutbox) == 1


def test_a_caller_id_the_account_gave_up_pauses_the_campaign(client, org, sandbox, settings):
    order = _running(org, "+8613800000001", caller_id="+8673112345")
    settings.WAIHU_SANDBOX_OWNED_NUMBERS = ["+8673110086"]  # released since the start
    _dial(order)
    rules = _state(order)
    assert (rules.state, rules.paused_reason, rules.paused_code) == ("paused", "caller_id", "21210")
    assert DialState.objects.get().attempts == 0
    client.force_login(org.outbound_admin)
    page = client.get(reverse("campaigns:detail", args=[order.pk])).content.decode()
    assert "Twilio refused the caller ID +8673112345" in page


def test_each_administrator_is_told_in_their_language(org, sandbox, mailoutbox):
    chinese = UserFactory(
        username="oadmin2", department=org.cs, roles=[Role.OUTBOUND_ADMIN], language="zh-hans"
    )
    UserFactory(username="oadmin3", department=org.cs, roles=[Role.OUTBOUND_ADMIN], email="")
    order = _running(org, "+15005550003")
    _dial(order)
    by_address = {mail.to[0]: mail for mail in mailoutbox}
    assert set(by_address) == {org.outbound_admin.email, chinese.email}
    assert 'lang="en"' in by_address[org.outbound_admin.email].alternatives[0][0]
    assert 'lang="zh-hans"' in by_address[chinese.email].alternatives[0][0]


def test_resuming_clears_the_reason(client, org, sandbox):
    order = _running(org, "+15005550003")
    _dial(order)
    assert _state(order).paused_reason == "geo_permission"
    # The geographic permission is granted: the contact is called, number 1.
    DialState.objects.update(next_attempt_at=timezone.now())
    from outbound.models import Contact

    Contact.objects.update(phone="+8613800000009")
    client.force_login(org.outbound_admin)
    _act(client, order, "resume")
    rules = _state(order)
    assert (rules.state, rules.paused_reason, rules.paused_code) == ("running", "", "")
    _dial(order)
    assert CallAttempt.objects.get().number == 1
    page = client.get(reverse("campaigns:detail", args=[order.pk])).content.decode()
    assert 'data-testid="pause-reason"' not in page


def test_a_dial_leg_refused_for_geo_permissions_pauses_the_campaign(
    client, org, telephony_settings, mailoutbox
):
    order = make_campaign(org, phones=phones(1))
    CampaignSettings.objects.filter(pk=order.pk).update(state="running")
    attempt = open_attempt(order)
    path = reverse("telephony:status", args=[attempt.pk])
    params = {"CallSid": attempt.call_sid, "CallStatus": "failed", "ErrorCode": "13227"}
    assert signed_post(client, path, params).status_code == 204
    rules = _state(order)
    assert (rules.state, rules.paused_reason, rules.paused_code) == (
        "paused",
        "geo_permission",
        "13227",
    )
    assert len(mailoutbox) == 1
    # That call did happen: it is recorded as failed, like any other.
    assert CallAttempt.objects.get().outcome == "failed"


def test_a_failed_call_for_other_reasons_leaves_the_campaign_running(
    client, org, telephony_settings, mailoutbox
):
    order = make_campaign(org, phones=phones(1))
    CampaignSettings.objects.filter(pk=order.pk).update(state="running")
    attempt = open_attempt(order)
    path = reverse("telephony:status", args=[attempt.pk])
    params = {"CallSid": attempt.call_sid, "CallStatus": "failed", "ErrorCode": "13224"}
    signed_post(client, path, params)
    assert _state(order).state == "running" and mailoutbox == []


def test_an_agents_call_refused_by_the_account_pauses_the_campaign(
    org, carrier, telephony_settings, mailoutbox
):
    telephony_settings.WAIHU_SANDBOX_API_URL = "http://127.0.0.1:9"
    order = agent_campaign(org, phones=phones(1))
    interview = agent_services.contact_reserve(campaign=order, agent=org.agent)
    carrier.refuse[AGENT_PHONE] = telephony.AccountRefusal(
        "Account not authorized to call", kind="geo_permission", code=21215
    )
    with pytest.raises(Exception, match="could not be called"):
        agent_services.interview_dial(interview=interview, agent=org.agent)
    rules = _state(order)
    assert (rules.state, rules.paused_reason) == ("paused", "geo_permission")
    assert DialState.objects.get(pk=interview.contact_id).attempts == 0
    assert len(mailoutbox) == 1
