"""Date and datetime inputs carry ISO values in every language (a browser blanks any other
value of <input type="date">), and a form posted back as it was shown keeps its dates."""

import datetime
import re
import zoneinfo

import pytest
import time_machine
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from approvals.models import Step
from outbound.agent import services as agent_services
from outbound.contacts.services import one_year_after
from outbound.models import CampaignSettings, DialState, RedListEntry, WorkOrder
from outbound.services import order_decide, order_submit
from tests.factories import Org, make_order
from tests.html_forms import form_data, page_form, page_forms
from tests.outbound import test_dialer_fixtures as fx
from tests.outbound.test_agent_fixtures import agent_campaign
from tests.outbound.test_dialer_fixtures import make_campaign, phones

pytestmark = pytest.mark.django_db

LANGUAGES = ["zh-hans", "en"]
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# A Monday morning in the users' time zone; every date below is counted from it.
NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()
FIRST_DAY = datetime.date(2026, 12, 2)
LAST_DAY = datetime.date(2026, 12, 20)
ISO = {
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "datetime-local": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"),
    "time": re.compile(r"^\d{2}:\d{2}$"),
}

telephony_settings, carrier = fx.telephony_settings, fx.carrier


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def org():
    return Org()


def client_in(language: str, user) -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def date_inputs(form) -> dict[str, tuple[str, str]]:
    """name -> (type, value) of the form's date, datetime and time inputs."""
    return {
        name: (attrs["type"], attrs.get("value", ""))
        for name, attrs in form.inputs.items()
        if attrs.get("type") in ISO
    }


def assert_iso(inputs: dict[str, tuple[str, str]]) -> None:
    for name, (kind, value) in inputs.items():
        assert ISO[kind].match(value), f"{name}: {kind} input carries {value!r}"


# Every form of the project, found by walking the form classes, ------------------------


OUR_APPS = {"accounts", "approvals", "surveys", "outbound", "reports"}


def _project_forms() -> list[type[forms.BaseForm]]:
    import config.urls  # noqa: F401  (imports every view, so every form class)

    found, queue = [], list(forms.BaseForm.__subclasses__())
    while queue:
        cls = queue.pop()
        queue.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in OUR_APPS:
            found.append(cls)
    return found


SAMPLES = {
    "date": FIRST_DAY,
    "datetime-local": datetime.datetime(2026, 12, 2, 14, 30, tzinfo=SHANGHAI),
    "time": datetime.time(9, 0),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_date_input_of_every_form_renders_iso(language):
    seen = set()
    for cls in _project_forms():
        for name, field in cls.base_fields.items():
            kind = getattr(field.widget, "input_type", None)
            if kind not in ISO:
                continue
            seen.add((cls.__name__, name))
            with translation.override(language), timezone.override(SHANGHAI):
                html = field.widget.render(name, field.prepare_value(SAMPLES[kind]))
            value = re.search(r'value="([^"]*)"', html).group(1)
            assert ISO[kind].match(value), f"{cls.__name__}.{name} renders {value!r}"
    # The walk found the forms this test is about, so it cannot pass by finding none.
    assert {
        ("CampaignSettingsForm", "starts_on"),
        ("CampaignSettingsForm", "ends_on"),
        ("WorkOrderForm", "desired_start"),
        ("WorkOrderForm", "calling_hours_start"),
        ("AssignmentForm", "planned_start"),
        ("RedListForm", "starts_on"),
        ("RedListUploadForm", "ends_on"),
        ("DispositionForm", "callback_at"),
        ("ResultFilterForm", "date_from"),
        ("CampaignFilterForm", "date_to"),
    } <= seen


# Each form through its page: shown, posted back unchanged, dates kept. ------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_campaign_settings_keep_their_calling_days(language, org, telephony_settings):
    order = make_campaign(org, starts_on=FIRST_DAY, ends_on=LAST_DAY)
    client = client_in(language, org.outbound_admin)
    url = reverse("campaigns:settings", args=[order.pk])
    form = page_form(client.get(url).content.decode(), url, page=url)
    inputs = date_inputs(form)
    assert inputs["starts_on"] == ("date", "2026-12-02")
    assert inputs["ends_on"] == ("date", "2026-12-20")
    assert_iso(inputs)
    response = client.post(url, form_data(form))
    assert response.status_code == 302, response.context["form"].errors
    rules = CampaignSettings.objects.get(pk=order.pk)
    assert (rules.starts_on, rules.ends_on) == (FIRST_DAY, LAST_DAY)
    assert rules.weekly_hours == fx.ALL_DAY


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_order_edited_keeps_its_desired_dates(language, org):
    order = make_order(org.requester, desired_start=FIRST_DAY, desired_end=LAST_DAY)
    client = client_in(language, org.requester)
    url = reverse("outbound:order_edit", args=[order.pk])
    form = page_form(client.get(url).content.decode(), url, page=url)
    inputs = date_inputs(form)
    assert inputs["desired_start"] == ("date", "2026-12-02")
    assert inputs["desired_end"] == ("date", "2026-12-20")
    assert inputs["calling_hours_start"] == ("time", "09:00")
    assert_iso(inputs)
    response = client.post(url, form_data(form))
    assert response.status_code == 302, response.context["form"].errors
    order.refresh_from_db()
    assert (order.desired_start, order.desired_end) == (FIRST_DAY, LAST_DAY)
    assert order.calling_hours_start == datetime.time(9, 0)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_assignment_keeps_the_planned_dates(language, org):
    order = make_order(org.requester, desired_start=FIRST_DAY, desired_end=LAST_DAY)
    order_submit(order=order, user=org.requester)
    for position in (1, 2, 3):
        order_decide(order=order, user=org.step_actor(position), action="approve", comment="")
    order.refresh_from_db()
    assert order.approval.current_step.kind == Step.Kind.ASSIGN
    WorkOrder.objects.filter(pk=order.pk).update(questionnaire=org.questionnaire)
    client = client_in(language, org.outbound_admin)
    url = reverse("outbound:order_decide", args=[order.pk])
    form = page_form(client.get(order.get_absolute_url()).content.decode(), url)
    inputs = date_inputs(form)
    assert inputs["planned_start"] == ("date", "2026-12-02")
    assert inputs["planned_end"] == ("date", "2026-12-20")
    data = form_data(form)
    # What the administrator fills in, and the button pressed; the dates stay as shown.
    data.update(team=str(org.agent.pk), daily_volume="120", action="approve")
    response = client.post(url, data)
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.planned_start, order.planned_end) == (FIRST_DAY, LAST_DAY)
    assert order.approval.current_step.position == 5


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_red_list_forms_keep_their_period(language, org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_in(language, org.outbound_admin)
    page = client.get(reverse("contacts:red_list")).content.decode()
    add = page_form(page, reverse("contacts:red_list_add"))
    upload = page_form(page, reverse("contacts:red_list_upload"))
    a_year_on = one_year_after(TODAY)
    for form in (add, upload):
        inputs = date_inputs(form)
        assert inputs["starts_on"] == ("date", TODAY.isoformat())
        assert inputs["ends_on"] == ("date", a_year_on.isoformat())
    response = client.post(add.action, {**form_data(add), "phone": "13812345678"})
    assert response.status_code == 302
    listed = "手机\r\n13912345678\r\n".encode("gb18030")
    response = client.post(
        upload.action,
        {**form_data(upload), "file": SimpleUploadedFile("红名单.csv", listed, "text/csv")},
    )
    assert response.status_code == 302
    periods = set(RedListEntry.objects.values_list("phone", "starts_on", "ends_on"))
    assert periods == {
        ("+8613812345678", TODAY, a_year_on),
        ("+8613912345678", TODAY, a_year_on),
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_callback_time_is_read_back_in_the_users_time_zone(
    language, org, telephony_settings, carrier
):
    from outbound.agent.forms import DispositionForm

    order = agent_campaign(org, phones=phones(1))
    interview = agent_services.contact_reserve(campaign=order, agent=org.agent)
    agent_services.interview_dial(interview=interview, agent=org.agent)
    when = datetime.datetime(2026, 11, 24, 15, 30, tzinfo=SHANGHAI)
    with translation.override(language):
        shown = page_forms(f"<form>{DispositionForm(initial={'callback_at': when})}</form>")[0]
    assert date_inputs(shown)["callback_at"] == ("datetime-local", "2026-11-24T15:30")
    client = client_in(language, org.agent)
    response = client.post(
        reverse("agent:finish", args=[interview.pk]),
        {"disposition": "callback", "callback_at": date_inputs(shown)["callback_at"][1]},
    )
    assert response.status_code == 302
    assert DialState.objects.get(pk=interview.contact_id).callback_at == when


@pytest.mark.parametrize("language", LANGUAGES)
def test_result_filters_keep_their_dates(language, org):
    from surveys.demo import demo_questionnaire_create

    version = demo_questionnaire_create()
    order = make_order(org.requester, questionnaire=version)
    WorkOrder.objects.filter(pk=order.pk).update(run_status=WorkOrder.RunStatus.READY)
    client = client_in(language, org.outbound_admin)
    chosen = {"date_from": "2026-11-02", "date_to": "2026-11-20"}
    for url in (
        reverse("reports:results", args=[version.pk]),
        reverse("campaign_reports:results", args=[order.pk]),
    ):
        response = client.get(url, chosen)
        assert response.status_code == 200
        shown = page_forms(response.content.decode())
        (form,) = (f for f in shown if f.attrs.get("data-testid") == "filters")
        inputs = date_inputs(form)
        assert inputs["date_from"] == ("date", "2026-11-02")
        assert inputs["date_to"] == ("date", "2026-11-20")
        again = client.get(url, form_data(form))
        filters = again.context["form"].cleaned_data
        assert (filters["date_from"], filters["date_to"]) == (
            datetime.date(2026, 11, 2),
            datetime.date(2026, 11, 20),
        )
