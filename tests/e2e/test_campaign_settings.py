"""The campaign settings in Chinese, in Chromium: the calling days are shown in the date
inputs (a browser blanks a value it cannot read) and are still there after saving."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from outbound.models import CampaignSettings
from tests.e2e.conftest import login
from tests.factories import Org
from tests.outbound.test_dialer_fixtures import make_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def date_values(page) -> dict[str, str]:
    """What Chromium holds in each date input: empty for a value it rejected."""
    return page.eval_on_selector_all(
        "input[type=date]", "inputs => Object.fromEntries(inputs.map(i => [i.name, i.value]))"
    )


def test_saving_the_settings_in_chinese_keeps_the_calling_days(context_factory, live_server):
    org = Org()
    first = timezone.localdate() + datetime.timedelta(days=7)
    last = first + datetime.timedelta(days=13)
    order = make_campaign(org, starts_on=first, ends_on=last)
    page = context_factory(locale="zh-CN").new_page()
    login(page, live_server, org.outbound_admin.username)
    url = f"{live_server.url}{reverse('campaigns:settings', args=[order.pk])}"

    page.goto(url)
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert date_values(page) == {"starts_on": first.isoformat(), "ends_on": last.isoformat()}
    page.click("[data-testid=save-settings]")
    page.wait_for_selector(".alert-success")

    rules = CampaignSettings.objects.get(pk=order.pk)
    assert (rules.starts_on, rules.ends_on) == (first, last)
    page.goto(url)
    assert date_values(page) == {"starts_on": first.isoformat(), "ends_on": last.isoformat()}
