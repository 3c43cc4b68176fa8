"""The sandbox is a development tool: it runs only where it is asked for (on with debug,
off in production unless WAIHU_SANDBOX says so), it requests none but Waihu's own
addresses, and a campaign page says when calls are simulated."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from outbound import telephony
from outbound.dialer import services
from outbound.sandbox import play
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_dialer_fixtures import make_campaign, phones

pytestmark = pytest.mark.django_db(transaction=True)
org, sandbox, telephony_settings = fx.org, fx.sandbox, fx.telephony_settings


def _sandbox_setting(**env) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WAIHU_SANDBOX",))}
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.WAIHU_SANDBOX)",
        ],
        env=environment,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_sandbox_is_on_in_development_and_off_in_production():
    key = "k3y-" + "abcdefghij" * 6
    assert _sandbox_setting(DJANGO_DEBUG="true") == "True"
    assert _sandbox_setting(DJANGO_DEBUG="false", DJANGO_SECRET_KEY=key) == "False"
    production_demo = _sandbox_setting(
        DJANGO_DEBUG="false", DJANGO_SECRET_KEY=key, WAIHU_SANDBOX="true"
    )
    assert production_demo == "True"


def test_with_neither_twilio_nor_the_sandbox_nothing_is_called(client, org, sandbox, settings):
    settings.WAIHU_SANDBOX = False
    assert telephony.mode() == "off"
    # The sandbox's API is not there at all.
    response = client.get(f"/sandbox/2010-04-01/Accounts/{telephony.account_sid()}/Calls.json")
    assert response.status_code == 404
    # A call is refused as an account refusal, which pauses a campaign rather than burning
    # the contact.
    with pytest.raises(telephony.AccountRefusal, match="WAIHU_SANDBOX"):
        telephony.place_call(
            to="+8613800000000",
            from_="+8673110086",
            twiml_url=f"{settings.PUBLIC_BASE_URL}/x",
            status_callback=f"{settings.PUBLIC_BASE_URL}/y",
        )
    # A campaign cannot start, and says why.
    order = make_campaign(org, phones=phones(1))
    with pytest.raises(ValidationError, match="sandbox is off"):
        services.campaign_start(campaign=order, user=org.outbound_admin)
    client.force_login(org.outbound_admin)
    page = client.get(
        reverse("campaigns:detail", args=[order.pk]), headers={"accept-language": "en"}
    )
    assert "the sandbox is off, so no call can be placed" in page.content.decode()


def test_the_campaign_page_says_calls_are_simulated(client, org, telephony_settings):
    order = make_campaign(org, phones=phones(1))
    client.force_login(org.outbound_admin)
    url = reverse("campaigns:detail", args=[order.pk])
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "Sandbox: calls are simulated, nobody is called." in page
    telephony_settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    telephony_settings.TWILIO_AUTH_TOKEN = "t" * 32
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "calls are simulated" not in page


@pytest.mark.parametrize("field", ["Url", "StatusCallback", "RecordingStatusCallback"])
def test_the_sandbox_refuses_to_call_back_anything_but_waihu(sandbox, settings, field):
    own = f"{settings.PUBLIC_BASE_URL}/telephony/attempts/1/twiml/"
    options = {
        "to": "+8613800000000",
        "from_": "+8673110086",
        "url": own,
        "status_callback": own,
    }
    foreign = "http://169.254.169.254/latest/meta-data/"
    if field == "Url":
        options["url"] = foreign
    elif field == "StatusCallback":
        options["status_callback"] = foreign
    else:
        options.update(record=True, recording_status_callback=foreign)
    with pytest.raises(Exception) as refused:
        telephony.client().calls.create(**options)
    assert getattr(refused.value, "code", None) == 21205
    assert field in str(refused.value)


def test_the_sandbox_never_posts_to_another_address(monkeypatch, settings):
    posted = []

    class Answer:
        status_code = 204

    def post(url, **kwargs):
        posted.append(url)
        return Answer()

    monkeypatch.setattr(play._session, "post", post)
    assert play.post_signed("http://169.254.169.254/x", {"a": "b"}) is None
    assert posted == []
    play.post_signed(f"{settings.PUBLIC_BASE_URL}/telephony/health/", {"a": "b"}, tries=1)
    assert posted == [f"{settings.PUBLIC_BASE_URL}/telephony/health/"]
