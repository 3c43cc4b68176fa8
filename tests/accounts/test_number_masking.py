# ruff: noqa: E501  (the places read as a table, one line each)
"""Every page, JSON answer and workbook that shows a customer's number, for every role that
can open it: the number is whole exactly where the policy allows (outbound administrators
everywhere; the agent for the contact they are calling) and masked (138****1111) elsewhere.

PLACES is the list to extend: one line per place that shows numbers."""

import io
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reports.models import ExportJob
from tests.accounts.phone_scenario import (
    CALLED,
    CURRENT,
    DICTATED,
    DNC,
    OTHER,
    RED,
    ROLES,
    Scenario,
    build,
    digits,
    masked,
)

pytestmark = pytest.mark.django_db


def _page(name: str, args: Callable[[Scenario], list]) -> Callable:
    def fetch(client, s: Scenario):
        return client.get(reverse(name, args=args(s)))

    return fetch


def _workbook_text(content: bytes) -> str:
    book = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(
        " ".join(str(value) for value in row if value is not None)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
    )


def _results_workbook(client, s: Scenario):
    """The campaign's results workbook, asked for and downloaded as the user."""
    with s.extras["capture"](execute=True):
        started = client.post(reverse("campaign_reports:export_start", args=[s.campaign.pk]), {})
    if started.status_code != 302 or "/exports/" not in started["Location"]:
        return started
    job = ExportJob.objects.latest("pk")
    assert job.status == "done", (job.status, job.error)
    return client.get(reverse("reports:export_download", args=[job.pk]))


def _rejects_workbook(client, s: Scenario):
    return client.get(reverse("contacts:import_rejects", args=[s.rejects_job.pk]))


@dataclass(frozen=True)
class Place:
    name: str
    fetch: Callable
    # The roles that can open it (the others must not get it).
    opens: frozenset
    # The numbers it shows.
    shows: tuple
    # Beside the outbound administrator, who sees which of them whole.
    whole: dict = field(default_factory=dict)
    workbook: bool = False


CAMPAIGN_ROLES = frozenset({"requester", "outbound_admin", "agent", "system_admin"})
CONTACT_ROLES = frozenset({"requester", "outbound_admin", "system_admin"})
RESULT_ROLES = frozenset({"requester", "outbound_admin", "analyst", "system_admin"})
ADMINS = frozenset({"outbound_admin", "system_admin"})
AGENT = frozenset({"agent"})
CALLING = {"agent": {CURRENT}}

PLACES = [
    Place("contact list", _page("contacts:campaign_contacts", lambda s: [s.campaign.pk]), CONTACT_ROLES, (CURRENT, CALLED, OTHER)),
    Place("campaign page, attempts", _page("campaigns:detail", lambda s: [s.campaign.pk]), CAMPAIGN_ROLES, (CURRENT, CALLED, OTHER), CALLING),
    Place("campaign page, live attempts", _page("campaigns:live", lambda s: [s.campaign.pk]), CAMPAIGN_ROLES, (CURRENT, CALLED, OTHER), CALLING),
    Place("agent console, current contact", _page("agent:interview", lambda s: [s.held.pk]), AGENT, (CURRENT,), CALLING),
    Place("agent console, a contact called before", _page("agent:interview", lambda s: [s.called.pk]), AGENT, (CALLED,)),
    Place("agent console, desk", _page("agent:desk", lambda s: [s.campaign.pk]), AGENT, (CURRENT,), CALLING),
    Place("agent console, campaigns", _page("agent:campaigns", lambda s: []), AGENT, (CURRENT,), CALLING),
    Place("agent console, call state", _page("agent:call", lambda s: [s.held.pk]), AGENT, (CURRENT,), CALLING),
    Place("supervisor board", _page("agent:supervisor", lambda s: []), ADMINS, (CURRENT,)),
    Place("supervisor board, live", _page("agent:supervisor_json", lambda s: []), ADMINS, (CURRENT,)),
    Place("results, text answers of the campaign", _page("campaign_reports:open_answers", lambda s: [s.campaign.pk, s.text_question.pk]), RESULT_ROLES, (DICTATED,)),
    Place("results, text answers of the version", _page("reports:open_answers", lambda s: [s.campaign.questionnaire_id, s.text_question.pk]), frozenset({"outbound_admin", "analyst"}), (DICTATED,)),
    Place("results workbook", _results_workbook, RESULT_ROLES, (CALLED, OTHER, DICTATED), workbook=True),
    Place("rejected rows workbook", _rejects_workbook, CONTACT_ROLES, (OTHER,), workbook=True),
    Place("import preview", _page("contacts:import_map", lambda s: [s.mapping_job.pk]), CONTACT_ROLES, (CALLED,)),
    Place("do-not-call list", _page("contacts:dnc_list", lambda s: []), ADMINS, (DNC,)),
    Place("red list", _page("contacts:red_list", lambda s: []), ADMINS, (RED,)),
]  # fmt: skip


@pytest.fixture
def scenario(django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    built = build(django_capture_on_commit_callbacks)
    built.extras["capture"] = django_capture_on_commit_callbacks
    return built


def _content(response, workbook: bool) -> str:
    if workbook:
        return _workbook_text(b"".join(response.streaming_content))
    return response.content.decode()


@pytest.mark.parametrize("place", PLACES, ids=[p.name for p in PLACES])
def test_numbers_are_whole_only_where_the_policy_allows(client, scenario, place):
    opened = set()
    for role in ROLES:
        client.force_login(scenario.users[role])
        response = place.fetch(client, scenario)
        if response.status_code != 200:
            assert role not in place.opens, (role, response.status_code)
            continue
        opened.add(role)
        text = _content(response, place.workbook)
        whole = set(place.shows) if role == "outbound_admin" else place.whole.get(role, set())
        for number in place.shows:
            if number in whole:
                assert digits(number) in text, (role, number)
            else:
                assert digits(number) not in text, (role, number)
                assert masked(number) in text, (role, number)
    assert opened == place.opens


@pytest.mark.parametrize(
    ("role", "name", "args"),
    [
        ("requester", "contacts:campaign_contacts", lambda s: [s.campaign.pk]),
        ("agent", "campaigns:detail", lambda s: [s.campaign.pk]),
        ("system_admin", "contacts:campaign_contacts", lambda s: [s.campaign.pk]),
    ],
)
def test_masking_costs_no_query_per_number(client, scenario, role, name, args):
    """The policy looks up what it needs once a page, not once a number."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from outbound.models import CallAttempt, Contact

    client.force_login(scenario.users[role])
    url = reverse(name, args=args(scenario))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = queries()
    more = Contact.objects.bulk_create(
        Contact(campaign=scenario.campaign, phone=f"+8613100{n:06d}") for n in range(20)
    )
    CallAttempt.objects.bulk_create(
        CallAttempt(
            campaign=scenario.campaign,
            contact=contact,
            number=1,
            to=contact.phone,
            caller_id="+8673110086",
            status=CallAttempt.Status.BUSY,
            outcome="busy",
        )
        for contact in more
    )
    assert queries() == before
