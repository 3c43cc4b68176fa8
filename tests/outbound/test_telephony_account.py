"""The account as the real SDK sees it in the sandbox, over HTTP: the numbers it owns and
the caller IDs it has verified (Twilio's list shape, paged), its status, calls from a
number it may not use refused as Twilio refuses them, calls beyond its calls per second
queued, queued calls canceled; and how Twilio's error codes are classified."""

import itertools

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator

from outbound import telephony
from outbound.models import SandboxCall
from outbound.sandbox import play, tasks
from tests.outbound import test_dialer_fixtures as fx

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
sandbox, telephony_settings = fx.sandbox, fx.telephony_settings


@pytest.fixture(autouse=True)
def _documents_at_x_test(request):
    fx.documents_at_x_test(request)


def _place(to="+8613800000000", from_="+8673110086", status_callback="http://x.test/status"):
    return telephony.place_call(
        to=to, from_=from_, twiml_url="http://x.test/twiml", status_callback=status_callback
    )


@pytest.fixture
def posted(monkeypatch):
    """The callbacks the sandbox posts, caught before they leave."""
    caught = []

    class Answer:
        status_code = 204
        content = b""

    def fake_post(url, data, headers, timeout):
        caught.append((url, dict(data), headers["X-Twilio-Signature"]))
        return Answer()

    monkeypatch.setattr(play._session, "post", fake_post)
    return caught


def test_owned_and_verified_numbers_through_the_sdk(sandbox, telephony_settings):
    telephony_settings.WAIHU_SANDBOX_OWNED_NUMBERS = ["+8673110086"]
    telephony_settings.WAIHU_SANDBOX_VERIFIED_CALLER_IDS = ["+8675512345"]
    owned = telephony.caller_id_check("+8673110086")
    assert owned.owned and not owned.verified and owned.usable
    verified = telephony.caller_id_check("+8675512345")
    assert verified.verified and not verified.owned and verified.usable
    unknown = telephony.caller_id_check("+8673199999")
    assert not unknown.usable
    # Twilio's filter matches a part of a number too; only the exact number counts.
    assert not telephony.caller_id_check("+867311").usable


def test_the_lists_have_twilios_shape_and_paging(sandbox, telephony_settings):
    numbers = ["+8673110086", "+8673110087", "+8673110088"]
    telephony_settings.WAIHU_SANDBOX_OWNED_NUMBERS = numbers
    # The SDK follows next_page_uri from page to page.
    listed = telephony.client().incoming_phone_numbers.list(page_size=2)
    assert [number.phone_number for number in listed] == numbers
    assert all(number.sid.startswith("PN") and number.capabilities["voice"] for number in listed)
    account_sid = telephony.account_sid()
    base = f"{sandbox.url}/sandbox/2010-04-01/Accounts/{account_sid}"
    auth = (account_sid, telephony.auth_token())
    page = requests.get(
        f"{base}/IncomingPhoneNumbers.json", params={"PageSize": 2}, auth=auth, timeout=5
    ).json()
    assert [n["phone_number"] for n in page["incoming_phone_numbers"]] == numbers[:2]
    assert page["page"] == 0 and page["page_size"] == 2 and page["start"] == 0
    assert page["end"] == 1 and page["previous_page_uri"] is None
    assert "Page=1" in page["next_page_uri"] and page["first_page_uri"].endswith("Page=0")
    last = requests.get(
        f"{base}/IncomingPhoneNumbers.json",
        params={"PageSize": 2, "Page": 1},
        auth=auth,
        timeout=5,
    ).json()
    assert [n["phone_number"] for n in last["incoming_phone_numbers"]] == numbers[2:]
    assert last["next_page_uri"] is None and "Page=0" in last["previous_page_uri"]
    # A wildcard digit, as Twilio's PhoneNumber filter allows.
    found = requests.get(
        f"{base}/IncomingPhoneNumbers.json",
        params={"PhoneNumber": "731100*8"},
        auth=auth,
        timeout=5,
    ).json()
    assert [n["phone_number"] for n in found["incoming_phone_numbers"]] == ["+8673110088"]
    verified = requests.get(f"{base}/OutgoingCallerIds.json", auth=auth, timeout=5).json()
    assert verified["outgoing_caller_ids"] == [] and verified["next_page_uri"] is None


def test_account_status(sandbox, telephony_settings):
    assert telephony.account_status() == "active"
    telephony_settings.WAIHU_SANDBOX_ACCOUNT_STATUS = "suspended"
    assert telephony.account_status() == "suspended"
    # A suspended account places no call.
    with pytest.raises(telephony.AccountRefusal) as raised:
        _place()
    assert raised.value.kind == "account_inactive" and raised.value.code == 20403
    assert raised.value.status == 403
    # Nor reads anything but its own status.
    with pytest.raises(telephony.AccountRefusal) as raised:
        telephony.caller_id_check("+8673110086")
    assert raised.value.kind == "account_inactive"


def test_a_call_from_a_number_the_account_may_not_use_is_refused(sandbox, telephony_settings):
    with pytest.raises(telephony.AccountRefusal) as raised:
        _place(from_="+8673199999")
    assert raised.value.code == 21210 and raised.value.status == 400
    assert raised.value.kind == "caller_id" and "+8673199999" in str(raised.value)
    assert not SandboxCall.objects.exists()
    telephony_settings.WAIHU_SANDBOX_VERIFIED_CALLER_IDS = ["+8673199999"]
    assert _place(from_="+8673199999").startswith("CA")


def test_wrong_credentials_are_an_account_refusal(sandbox):
    wrong = telephony._client(telephony.account_sid(), "not-the-token", telephony.sandbox_api_url())
    # The SDK refuses a list page with a plain TwilioException carrying the response.
    with pytest.raises(TwilioException) as raised:
        wrong.incoming_phone_numbers.list()
    error = telephony.classify(raised.value)
    assert isinstance(error, telephony.AccountRefusal)
    assert error.kind == "authentication" and error.code == 20003 and error.status == 401
    with pytest.raises(TwilioRestException) as raised:
        wrong.api.v2010.accounts(telephony.account_sid()).fetch()
    assert telephony.classify(raised.value).kind == "authentication"


def test_calls_beyond_the_accounts_rate_wait_in_its_queue(sandbox, telephony_settings):
    telephony_settings.WAIHU_SANDBOX_CPS = 1.0
    sids = [_place(to=f"+861380000000{n}") for n in range(3)]
    calls = [telephony.client().calls(sid).fetch() for sid in sids]
    assert [call.status for call in calls] == ["queued"] * 3
    waits = [int(call.queue_time) for call in calls]
    # One a second: the first starts at once, the others wait their turn.
    assert waits[0] == 0 and 0 < waits[1] <= 1000 and 1000 <= waits[2] <= 2000
    starts = [SandboxCall.objects.get(sid=sid).queued_until for sid in sids]
    assert all((b - a).total_seconds() >= 1.0 for a, b in itertools.pairwise(starts))


def test_canceling_a_queued_call(sandbox, posted):
    sid = _place()
    assert telephony.cancel_call(sid) == "canceled"
    call = SandboxCall.objects.get(sid=sid)
    assert call.status == "canceled" and call.end_time is not None
    # Twilio's final callback, signed as Twilio signs it.
    url, params, signature = posted[-1]
    assert url == "http://x.test/status" and params["CallStatus"] == "canceled"
    assert params["SipResponseCode"] == "487"
    assert RequestValidator(telephony.auth_token()).validate(url, params, signature)
    # The call it was waiting to become never rings.
    tasks.sandbox_dial(sid)
    assert SandboxCall.objects.get(sid=sid).status == "canceled"
    # Canceling again changes nothing.
    assert telephony.cancel_call(sid) == "canceled" and len(posted) == 1


def test_canceling_leaves_an_answered_call_alone_and_completed_ends_it(sandbox, posted):
    sid = _place(to="+15005550100")
    call = SandboxCall.objects.get(sid=sid)
    play.dial(call)
    play.connect(call)
    assert telephony.cancel_call(sid) == "in-progress"
    assert SandboxCall.objects.get(sid=sid).status == "in-progress"
    ended = telephony.client().calls(sid).update(status="completed")
    assert ended.status == "completed"
    assert posted[-1][1]["CallStatus"] == "completed"


def test_a_ringing_call_is_canceled(sandbox, posted):
    sid = _place(to="+15005550102")
    play.dial(SandboxCall.objects.get(sid=sid))
    assert SandboxCall.objects.get(sid=sid).status == "ringing"
    assert telephony.cancel_call(sid) == "canceled"
    # The far end's answer, scheduled before the cancel, finds the call over.
    tasks.sandbox_connect(sid)
    assert SandboxCall.objects.get(sid=sid).status == "canceled"


def _rest_error(code: int | None, status: int = 400) -> TwilioRestException:
    return TwilioRestException(status, "https://api.twilio.com/x", msg="refused", code=code)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (21215, "geo_permission"),
        (13227, "geo_permission"),
        (32205, "geo_permission"),
        (21216, "blocked"),
        (21210, "caller_id"),
        (21212, "caller_id"),
        (13214, "caller_id"),
        (20003, "authentication"),
        (10001, "account_inactive"),
        (10002, "account_inactive"),
        (20005, "account_inactive"),
        (20403, "account_inactive"),
    ],
)
def test_account_codes_are_account_refusals(code, kind):
    error = telephony.classify(_rest_error(code))
    assert isinstance(error, telephony.AccountRefusal) and error.kind == kind


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        (21211, 400, telephony.InvalidNumber),
        (21214, 400, telephony.InvalidNumber),
        (21217, 400, telephony.InvalidNumber),
        (13223, 400, telephony.InvalidNumber),
        # Valid numbers get it too while no carrier can reach them: a failed call.
        (13224, 400, telephony.CallRejected),
        # Messaging codes, which no call returns: nothing to mark a number invalid for.
        (21612, 400, telephony.CallRejected),
        (21401, 400, telephony.CallRejected),
        (10004, 400, telephony.TransientError),
        (20429, 429, telephony.TransientError),
        (None, 401, telephony.AccountRefusal),
    ],
)
def test_other_codes(code, status, kind):
    assert type(telephony.classify(_rest_error(code, status))) is kind


def test_calls_past_the_accounts_concurrency_limit_are_rejected_until_one_ends(
    sandbox, telephony_settings
):
    telephony_settings.WAIHU_SANDBOX_MAX_CONCURRENT = 2
    first, _second = _place(), _place(to="+8613800000001")
    with pytest.raises(telephony.TransientError) as refused:
        _place(to="+8613800000002")
    assert refused.value.code == 10004 and refused.value.status == 429
    # A call that ends frees its place; the dialer's retry then goes through.
    SandboxCall.objects.filter(sid=first).update(status="completed")
    assert _place(to="+8613800000002").startswith("CA")
