"""Safe defaults and a hardened login: no secret known from the code, production headers
on by default, no inline script a Content-Security-Policy would have to allow, failed
logins throttled per account and per address, the four password validators, users who
change their own password, and sessions that end when idle or after a working day."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LONG_KEY = "k3y-" + "abcdefghij" * 6


def _settings_of(var_dir: Path, **env) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECRET_KEY); print(s.WAIHU_SANDBOX_AUTH_TOKEN)"
    )
    environment = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "WAIHU_VAR_DIR": str(var_dir),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_development_secrets_are_random_kept_and_never_in_the_code(tmp_path):
    first = _settings_of(tmp_path / "a")
    again = _settings_of(tmp_path / "a")
    other = _settings_of(tmp_path / "b")
    assert first.returncode == 0, first.stderr
    key, token = first.stdout.split()
    assert len(key) >= 50 and len(token) >= 24
    # Kept: the web process, the worker and beat of one set-up agree.
    assert again.stdout == first.stdout
    # Random: another set-up has its own, so nobody can sign callbacks from the code.
    assert set(other.stdout.split()).isdisjoint({key, token})
    assert (tmp_path / "a" / "secret-key").stat().st_mode & 0o777 == 0o600
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("config", "outbound", "accounts")
        for path in (settings.BASE_DIR / folder).rglob("*.py")
    )
    assert key not in sources and token not in sources


@pytest.mark.parametrize("key", ["", "short-key", "a" * 60])
def test_production_refuses_a_missing_short_or_simple_secret_key(tmp_path, key):
    result = _settings_of(tmp_path, DJANGO_DEBUG="false", DJANGO_SECRET_KEY=key)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr and "50" in result.stderr


def test_production_with_the_required_variables_passes_the_deploy_check(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={
            "PATH": "/usr/bin:/bin",
            "WAIHU_VAR_DIR": str(tmp_path),
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": LONG_KEY,
            "WAIHU_RETENTION_KEY": "r" + LONG_KEY[:40],
            "DJANGO_ALLOWED_HOSTS": "waihu.example.internal",
            "WAIHU_PUBLIC_BASE_URL": "https://waihu.example.internal",
        },
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_warns_when_the_retention_key_is_not_given(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env={
            "PATH": "/usr/bin:/bin",
            "WAIHU_VAR_DIR": str(tmp_path),
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": LONG_KEY,
            "DJANGO_ALLOWED_HOSTS": "waihu.example.internal",
            "WAIHU_PUBLIC_BASE_URL": "https://waihu.example.internal",
        },
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "waihu.W101" in result.stdout + result.stderr
    assert "WAIHU_RETENTION_KEY" in result.stdout + result.stderr


def test_production_warns_about_a_plain_http_public_address(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env={
            "PATH": "/usr/bin:/bin",
            "WAIHU_VAR_DIR": str(tmp_path),
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": LONG_KEY,
            "DJANGO_ALLOWED_HOSTS": "waihu.example.internal",
            "WAIHU_PUBLIC_BASE_URL": "http://waihu.example.internal",
        },
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "WAIHU_PUBLIC_BASE_URL" in result.stdout + result.stderr


def test_the_proxy_https_header_is_trusted_only_when_configured():
    # The test settings run with DEBUG on and no proxy configured.
    assert getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is None


def test_every_page_carries_a_policy_that_forbids_inline_scripts(client):
    response = client.get(reverse("login"))
    policy = response.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["script-src"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def test_no_template_carries_an_inline_script_or_handler():
    offenders = []
    for folder in ("templates", "accounts", "approvals", "surveys", "outbound", "reports"):
        for path in (settings.BASE_DIR / folder).rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            for pattern in (INLINE_SCRIPT, INLINE_HANDLER):
                for match in pattern.finditer(text):
                    if 'type="application/json"' not in match.group(0):
                        offenders.append(f"{path.relative_to(settings.BASE_DIR)}: {match[0]}")
    assert offenders == []


def _login(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_failed_logins_lock_the_account_even_for_the_right_password():
    user = UserFactory(username="clerk")
    client = Client(headers={"accept-language": "en"})
    for _attempt in range(50):
        response = _login(client, "clerk", "wrong")
    assert response.status_code == 429
    response = _login(client, "clerk", "pw")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address cannot go on guessing this account's password either.
    assert _login(Client(), "clerk", "pw", address="10.0.0.99").status_code == 429
    # The administrator lifts the block; the user logs in.
    call_command("axes_reset_username", "clerk")
    assert _login(client, "clerk", "pw").status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_one_address_guessing_many_accounts_is_locked_out():
    for n in range(settings.AXES_FAILURE_LIMIT + 1):
        UserFactory(username=f"user{n}")
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"user{n}", "wrong", address="10.9.9.9")
    last = f"user{settings.AXES_FAILURE_LIMIT}"
    assert _login(client, last, "pw", address="10.9.9.9").status_code == 429
    assert _login(Client(), last, "pw", address="10.1.1.1").status_code == 302


def test_the_lockout_ends_after_the_cool_off_time():
    UserFactory(username="clerk")
    client = Client()
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False) as clock:
        for _attempt in range(settings.AXES_FAILURE_LIMIT):
            _login(client, "clerk", "wrong")
        assert _login(client, "clerk", "pw").status_code == 429
        clock.shift(settings.AXES_COOLOFF_TIME.total_seconds() + 60)
        assert _login(client, "clerk", "pw").status_code == 302
    assert not AccessAttempt.objects.filter(username="clerk").exists()


def test_the_admin_lists_and_can_remove_lockouts(client):
    UserFactory(username="clerk")
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), "clerk", "wrong")
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    attempt = AccessAttempt.objects.get(username="clerk")
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 200 and "clerk" in response.content.decode()
    response = client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert _login(Client(), "clerk", "pw").status_code == 302


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Ab1!x", "too short"),
        ("password123", "too common"),
        ("48201937561", "entirely numeric"),
        ("clerk.wang.2026", "too similar"),
    ],
)
def test_all_four_password_validators_apply(password, why):
    user = UserFactory.build(username="clerk.wang", email="clerk.wang@example.com")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert why in " ".join(refused.value.messages)


def test_a_user_changes_their_own_password():
    user = UserFactory(username="clerk")
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    url = reverse("password_change")
    weak = client.post(
        url, {"old_password": "pw", "new_password1": "12345678", "new_password2": "12345678"}
    )
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    good = "Harbour-lantern-47"
    response = client.post(
        url, {"old_password": "pw", "new_password1": good, "new_password2": good}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(good)
    # Still logged in after the change.
    assert client.get(reverse("home")).status_code in (200, 302)
    assert client.session.get("_auth_user_id") == str(user.pk)


def test_an_idle_session_ends_and_a_busy_one_goes_on():
    user = UserFactory(username="clerk")
    client = Client(headers={"accept-language": "en"})
    idle = settings.WAIHU_SESSION_IDLE_MINUTES * 60
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False) as clock:
        client.force_login(user)
        assert client.get(reverse("outbound:order_list")).status_code == 200
        # Working: every page opened within the idle time keeps the session.
        for _step in range(4):
            clock.shift(idle - 60)
            assert client.get(reverse("outbound:order_list")).status_code == 200
        # A page's own polling does not keep an idle session alive.
        clock.shift(idle - 60)
        client.get(reverse("outbound:order_list"), headers={"accept": "application/json"})
        clock.shift(120)
        response = client.get(reverse("outbound:order_list"))
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
        assert "_auth_user_id" not in client.session


def test_a_session_lasts_at_most_a_working_day():
    assert settings.SESSION_COOKIE_AGE <= 10 * 3600
    user = UserFactory(username="clerk")
    client = Client()
    with time_machine.travel("2026-03-02 08:00 +0800", tick=False) as clock:
        client.force_login(user)
        # The cookie goes with the browser; the server ends the session after the age in
        # any case, however busy the user.
        assert client.session.get_expire_at_browser_close()
        assert client.get(reverse("outbound:order_list")).status_code == 200
        step = settings.WAIHU_SESSION_IDLE_MINUTES * 60 - 60
        elapsed = 0
        while elapsed + step <= settings.SESSION_COOKIE_AGE:
            clock.shift(step)
            elapsed += step
            assert client.get(reverse("outbound:order_list")).status_code == 200
        clock.shift(step)
        response = client.get(reverse("outbound:order_list"))
        assert response.status_code == 302


def test_the_client_address_behind_proxies(rf, settings):
    from accounts.client import client_address

    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.WAIHU_PROXY_COUNT = 0
    assert client_address(request) == "10.0.0.5"
    settings.WAIHU_PROXY_COUNT = 1
    # The client's own X-Forwarded-For entry (6.6.6.6) is never believed.
    assert client_address(request) == "203.0.113.9"
