"""The calendar in the admin: one year at a time with the source of each day, official days
read-only, local entries added and in force, and the warning when next year is missing."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from approvals import official_calendar
from approvals.calendar import WorkingCalendar
from approvals.models import Holiday
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date
LIST = reverse("admin:approvals_holiday_changelist")
ADD = reverse("admin:approvals_holiday_add")
NOVEMBER = datetime.datetime(2026, 11, 16, 10, tzinfo=SHANGHAI)
# December of the last year the package knows: next year is missing.
LAST = official_calendar.known_years()[-1]
DECEMBER = datetime.datetime(LAST, 12, 2, 10, tzinfo=SHANGHAI)


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def rows(response) -> list[Holiday]:
    return list(response.context["cl"].result_list)


def warnings(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]


def test_the_page_shows_this_year_with_the_source_of_each_day(admin_client):
    Holiday.objects.create(date=D(2026, 10, 2), name="值班", is_working_day=True)
    with time_machine.travel(NOVEMBER, tick=False):
        response = admin_client.get(LIST)
    assert response.status_code == 200
    shown = rows(response)
    assert {row.date.year for row in shown} == {2026}
    assert len(shown) == Holiday.objects.filter(date__year=2026).count()
    by_key = {(row.date, row.source): row for row in shown}
    # The official National Day is replaced on 2 October by the centre's own entry.
    admin = response.context["cl"].model_admin
    assert admin.in_force(by_key[D(2026, 10, 1), "official"])
    assert not admin.in_force(by_key[D(2026, 10, 2), "official"])
    assert admin.in_force(by_key[D(2026, 10, 2), "local"])
    assert b'data-testid="calendar-sources"' in response.content
    assert b"chinesecalendar" in response.content
    assert warnings(response) == []


def test_another_year_or_every_year(admin_client):
    response = admin_client.get(LIST, {"year": "2025"})
    assert {row.date.year for row in rows(response)} == {2025}
    response = admin_client.get(LIST, {"year": "all"})
    assert response.context["cl"].result_count == Holiday.objects.count()


def test_official_days_cannot_be_changed_or_deleted(admin_client):
    day = Holiday.objects.official().get(date=D(2026, 10, 1))
    change = reverse("admin:approvals_holiday_change", args=[day.pk])
    assert admin_client.get(change).status_code == 200  # shown, read-only
    response = admin_client.post(change, {"date": "2026-10-01", "name": "x"})
    assert response.status_code == 403
    delete = reverse("admin:approvals_holiday_delete", args=[day.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    admin_client.post(
        LIST, {"action": "delete_selected", "_selected_action": [day.pk], "post": "yes"}
    )
    day.refresh_from_db()
    assert day.name == "国庆节"


def test_a_local_entry_is_added_and_is_in_force(admin_client):
    response = admin_client.post(
        ADD, {"date": "2026-10-02", "name": "中心值班", "is_working_day": "on"}
    )
    assert response.status_code == 302
    local = Holiday.objects.local().get()
    assert (local.date, local.is_working_day) == (D(2026, 10, 2), True)
    assert Holiday.objects.official().filter(date=D(2026, 10, 2)).exists()
    assert WorkingCalendar.load(D(2026, 10, 1)).is_working_day(D(2026, 10, 2))
    # One local entry a date.
    response = admin_client.post(ADD, {"date": "2026-10-02", "name": "again"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["date"]
    assert Holiday.objects.local().count() == 1
    # A local entry can be changed and removed.
    delete = reverse("admin:approvals_holiday_delete", args=[local.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not WorkingCalendar.load(D(2026, 10, 1)).is_working_day(D(2026, 10, 2))


def test_december_warns_while_next_year_is_missing(admin_client):
    with time_machine.travel(DECEMBER, tick=False):
        (warning,) = warnings(admin_client.get(LIST))
    assert str(LAST + 1) in warning
    Holiday.objects.create(date=D(LAST + 1, 1, 1), name="元旦", source="official")
    with time_machine.travel(DECEMBER, tick=False):
        assert warnings(admin_client.get(LIST)) == []
