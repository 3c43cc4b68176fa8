"""What the dialer asks before each call: is this number excluded, and why."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbound.contacts import services
from outbound.contacts.selectors import Exclusion, excluded_numbers, exclusion_reason, is_excluded
from tests.factories import Org, make_order

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 22)


@pytest.fixture
def org():
    return Org()


@pytest.fixture
def lists(org):
    campaign = make_order(org.requester)
    other = make_order(org.requester, title="Other")
    services.dnc_add(phone="13800000001", reason="refused", source="manual")
    services.dnc_add(phone="13800000002", reason="asked", source="call", campaign=campaign)
    services.dnc_add(phone="13800000003", reason="asked", source="call", campaign=other)
    services.red_list_add(
        phone="13800000004",
        starts_on=TODAY - datetime.timedelta(days=10),
        ends_on=TODAY + datetime.timedelta(days=10),
    )
    services.red_list_add(
        phone="13800000001",  # on both: do-not-call wins
        starts_on=TODAY,
        ends_on=TODAY,
    )
    removed = services.dnc_add(phone="13800000005", source="manual")
    services.dnc_remove(entry=removed, user=org.outbound_admin)
    return campaign, other


def test_excluded_numbers_in_one_query_per_list(lists):
    campaign, _other = lists
    phones = [f"+861380000000{n}" for n in range(1, 7)]
    with CaptureQueriesContext(connection) as queries:
        found = excluded_numbers(campaign=campaign, phones=phones, on_date=TODAY)
    assert len(queries) == 2
    assert found == {
        "+8613800000001": Exclusion.DO_NOT_CALL,
        "+8613800000002": Exclusion.DO_NOT_CALL,
        "+8613800000004": Exclusion.RED_LIST,
    }


def test_keys_are_the_numbers_as_given(lists):
    campaign, _other = lists
    found = excluded_numbers(campaign=campaign.pk, phones=["138 0000 0001", "junk"], on_date=TODAY)
    assert found == {"138 0000 0001": Exclusion.DO_NOT_CALL}


def test_campaign_entries_apply_only_there(lists):
    campaign, other = lists
    assert is_excluded(campaign=other, phone="+8613800000003", on_date=TODAY)
    assert not is_excluded(campaign=campaign, phone="+8613800000003", on_date=TODAY)
    assert not is_excluded(campaign=None, phone="+8613800000002", on_date=TODAY)
    assert is_excluded(campaign=None, phone="+8613800000001", on_date=TODAY)


def test_removed_entries_no_longer_exclude(lists):
    campaign, _other = lists
    assert not is_excluded(campaign=campaign, phone="+8613800000005", on_date=TODAY)


def test_red_list_only_within_its_period(lists):
    campaign, _other = lists
    phone = "+8613800000004"
    assert exclusion_reason(campaign=campaign, phone=phone, on_date=TODAY) == Exclusion.RED_LIST
    last_day = TODAY + datetime.timedelta(days=10)
    assert is_excluded(campaign=campaign, phone=phone, on_date=last_day)
    assert not is_excluded(campaign=campaign, phone=phone, on_date=last_day + datetime.timedelta(1))
    assert not is_excluded(campaign=campaign, phone=phone, on_date=TODAY - datetime.timedelta(11))


def test_on_date_defaults_to_today(lists):
    campaign, _other = lists
    phone = "+8613800000004"
    with time_machine.travel(datetime.datetime(2026, 11, 30, 4, tzinfo=datetime.UTC)):
        assert is_excluded(campaign=campaign, phone=phone)
    # 2026-12-03 in Shanghai: the entry ended on 2026-12-02.
    with time_machine.travel(datetime.datetime(2026, 12, 2, 17, tzinfo=datetime.UTC)):
        assert not is_excluded(campaign=campaign, phone=phone)
