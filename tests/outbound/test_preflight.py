"""The go-live checks, against the sandbox account over HTTP: the command prints one
"PASS|WARN|FAIL <check>: <what to do>" line per check and exits 1 when one fails; the
system administrator's page shows the same checks."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from outbound import preflight
from outbound.models import CampaignSettings, WorkOrder
from surveys.models import Language
from tests.factories import UserFactory
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, phones
from tests.outbound.test_voice_fixtures import keypad_questionnaire

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures, used by name.
org, sandbox, telephony_settings = fx.org, fx.sandbox, fx.telephony_settings


def _run() -> tuple[list[str], bool]:
    """The command's lines, and whether it failed (exit status 1)."""
    out = io.StringIO()
    try:
        call_command("telephony_check", stdout=out, no_color=True)
    except CommandError as error:
        assert "checks failed" in str(error)
        return out.getvalue().splitlines(), True
    return out.getvalue().splitlines(), False


def _line(lines: list[str], start: str) -> str:
    [line] = [line for line in lines if line.startswith(start)]
    return line


def test_a_sandbox_ready_to_go_passes(sandbox, settings):
    settings.WAIHU_CALLER_ID = "+8673110086"
    lines, failed = _run()
    assert not failed
    assert all(line.split(" ", 1)[0] in ("PASS", "WARN", "FAIL") for line in lines)
    assert _line(lines, "WARN Telephony:").endswith(
        "Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to go live."
    )
    assert _line(lines, "PASS Credentials:") == "PASS Credentials: The account is active."
    assert _line(lines, "PASS Caller ID +8673110086:").endswith("A phone number of the account.")
    assert (
        "PASS Voice for Simplified Chinese: <Say> speaks with Polly.Zhiyu-Neural (cmn-CN)." in lines
    )
    assert _line(lines, "PASS Public address:")
    assert "shared by all campaigns: 1000 " in _line(lines, "PASS Calls per second:")
    assert "auth token (HMAC-SHA1)" in _line(lines, "PASS Webhook signatures:")


def test_chinas_caller_id_rule_is_a_warning(sandbox, settings):
    lines, _failed = _run()
    china = _line(lines, "WARN Caller ID +8673110086 and China:")
    assert "calls to China using a Chinese (+86) caller ID are prohibited" in china
    assert "30 November 2023" in china
    assert "support.twilio.com/hc/en-us/articles/360016488474" in china
    # A caller ID from elsewhere has no such warning.
    settings.WAIHU_CALLER_ID = "+12025550123"
    settings.WAIHU_SANDBOX_VERIFIED_CALLER_IDS = ["+12025550123"]
    lines, _failed = _run()
    assert not [line for line in lines if "and China" in line]
    assert _line(lines, "PASS Caller ID +12025550123:").endswith(
        "verified caller ID of the account."
    )


def test_a_campaigns_caller_id_the_account_does_not_have_fails(org, sandbox, settings):
    make_campaign(org, phones=phones(1), caller_id="+8673199999")
    lines, failed = _run()
    assert failed
    assert "is neither a number of the Twilio account nor a verified caller ID" in _line(
        lines, "FAIL Caller ID +8673199999:"
    )
    # A stopped campaign is no longer checked.
    CampaignSettings.objects.update(state="stopped")
    lines, failed = _run()
    assert not failed and not [line for line in lines if "+8673199999" in line]


def test_a_suspended_account_fails(sandbox, settings):
    settings.WAIHU_SANDBOX_ACCOUNT_STATUS = "suspended"
    lines, failed = _run()
    assert failed
    assert "The account is suspended" in _line(lines, "FAIL Credentials:")
    # Its caller IDs are not asked about.
    assert not [line for line in lines if line.startswith(("PASS Caller ID", "FAIL Caller ID"))]


def test_twilio_out_of_reach_fails(telephony_settings):
    telephony_settings.WAIHU_SANDBOX_API_URL = "http://127.0.0.1:9"
    lines, failed = _run()
    assert failed and "The sandbox did not answer" in _line(lines, "FAIL Credentials:")


def test_voices(org, sandbox, settings):
    assert preflight.voices_configured() == {
        "zh-hans": settings.WAIHU_VOICE_ZH_HANS,
        "en": settings.WAIHU_VOICE_EN,
    }
    lines, failed = _run()
    assert not failed
    assert "(cmn-CN)" in _line(lines, "PASS Voice for Simplified Chinese:")
    assert "(en-US)" in _line(lines, "PASS Voice for English:")
    # A Chinese voice survey waiting to start with an English voice of its own fails.
    order = make_campaign(org, phones=phones(1))
    WorkOrder.objects.filter(pk=order.pk).update(
        questionnaire=keypad_questionnaire(language=Language.ZH_HANS)
    )
    CampaignSettings.objects.filter(campaign=order).update(voice="Polly.Joanna-Neural")
    lines, failed = _run()
    assert failed
    assert "does not speak" in _line(lines, f"FAIL Voice of “{order.title}”:")


def test_campaigns_asking_more_than_the_account_are_warned_of(org, sandbox, settings):
    settings.WAIHU_ACCOUNT_CPS = 2.0
    make_campaign(org, phones=phones(1), calls_per_second=5.0)
    lines, _failed = _run()
    line = _line(lines, "WARN Calls per second:")
    assert "shared by all campaigns: 2 " in line and "1 campaign asks for more" in line


def test_the_shared_key_scheme_is_reported(sandbox, settings):
    settings.TWILIO_WEBHOOK_SHARED_KEY = "secret"
    lines, _failed = _run()
    assert "SharedKey (HMAC-SHA256" in _line(lines, "PASS Webhook signatures:")


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("http://waihu.example.com", preflight.FAIL, "is not https"),
        ("https://localhost", preflight.FAIL, "points at this machine itself"),
        ("https://192.168.1.20", preflight.WARN, "private address"),
        ("https://waihu.example.com", preflight.PASS, "must answer 204"),
    ],
)
def test_the_public_address_with_twilio_credentials(settings, url, status, says):
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "secret"
    settings.PUBLIC_BASE_URL = url
    check = preflight.check_public_url()
    assert check.status == status and says in check.detail


def test_the_page_is_for_the_system_administrator(client, org, sandbox, settings):
    admin = UserFactory(username="sysadmin", is_staff=True, is_superuser=True)
    url = reverse("campaigns:telephony_check")
    client.force_login(org.outbound_admin)
    assert client.get(url).status_code == 403
    client.force_login(admin)
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-status="PASS"' in text and 'data-status="WARN"' in text
    assert "The account is active." in text and "No check fails." in text
    assert [check.name for check in page.context["checks"]] == [
        check.name for check in preflight.run_checks()
    ]
    # The administration's index leads there.
    assert f'href="{url}"' in client.get(reverse("admin:index")).content.decode()
    make_campaign(org, phones=phones(1), caller_id="+8673199999")
    text = client.get(url).content.decode()
    assert 'data-status="FAIL"' in text and "Some checks fail" in text
