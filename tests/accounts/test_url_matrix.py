"""Who may open every page and send every form: every URL pattern of Waihu, asked by every
role (and by the same roles in another department, and by nobody signed in), with GET and
with an empty POST, on the objects of one department.

The patterns come from the URL resolver, so a view added without a line in RULES fails
`test_every_url_pattern_has_a_rule`. To add one, write a line in RULES:

    "app:name": page(KWARGS, get=ROLES_ALLOWED, post=ROLES_ALLOWED),

KWARGS is a function of the world built below (`world`) giving the URL's arguments:
`ORDER`, `PENDING`, `CAMPAIGN`, `DRAFT`, `INTERVIEW`… or a new one (add the object to
`_build_world` if it needs one); leave it out for a URL without arguments. ROLES_ALLOWED is
a set of role keys (see ROLES, and the named sets under it), or NOT_SERVED when the view
refuses that method (405). Other kinds: `webhook(KWARGS)` (Twilio's signature),
`sandbox(KWARGS)` (the sandbox's own credentials), `api(KWARGS, serves="get")` (a token),
`public(KWARGS)` (open to anybody, signed in or not).

Beside the codes, no answer to another department's people (OUTSIDERS) may carry any of
department A's words (SECRETS).

What is checked, for each (pattern, role, method):
- allowed: neither 403 nor 404 nor a redirect to the login page (a 200, a redirect to a
  normal page, a 400 for an empty form are all fine);
- refused: 403 or 404 (the object is hidden), or the login page for somebody not signed in;
  and a refused POST writes nothing: no INSERT, UPDATE or DELETE reaches the database
  (the session's own table aside), which is stricter than comparing counts;
- not served: 405 for everyone signed in.
The data are built once for the module and every request runs in a savepoint rolled back
after it, so an allowed POST (which may change things) never leaks into the next case."""

from __future__ import annotations

import base64
import datetime
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test import Client, TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.roles import Role
from outbound import telephony
from tests.factories import UserFactory

# Words only department A's people (and those who oversee every department) may read: the
# titles of its orders, its customers' names, its draft questionnaire's name.
SECRETS = ("Order A-kx7q", "Customer A-kx7q", "Pending A-kx7q", "Survey A-kx7q")
# Another department's people: no page they may open shows any of those words.
OUTSIDERS = ("no_role", "requester_b", "leader_b", "agent_b")

pytestmark = pytest.mark.exhaustive

# --- the roles -----------------------------------------------------------------------------

# Department A files the order everything below belongs to; B is another department.
ROLES = (
    "anonymous",  # nobody signed in
    "no_role",  # signed in, no role (department B)
    "requester_a",  # filed department A's orders and questionnaire
    "requester_b",
    "leader_a",  # department A's leader: first approver of its orders
    "leader_b",
    "outbound_admin",
    "cs_leader",  # customer-service department leader
    "centre_leader",  # customer-service centre leader
    "agent_a",  # on the team of department A's campaign
    "agent_b",  # an agent on no team of department A
    "analyst",
    "sysadmin",  # staff and superuser, no role
)
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
EVERYONE = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()
OVERSEERS = frozenset({"outbound_admin", "cs_leader", "centre_leader", "sysadmin"})
# Who opens department A's approved, running order.
ORDER_READERS = OVERSEERS | {"requester_a", "leader_a", "agent_a", "analyst"}
# Department A's order still at its first step: its department leader decides.
PENDING_READERS = OVERSEERS | {"requester_a", "leader_a"}
# Contacts and imports of a campaign: its requester and the outbound administrators.
CONTACT_MANAGERS = frozenset({"requester_a", "outbound_admin", "sysadmin"})
LIST_ADMINS = frozenset({"outbound_admin", "sysadmin"})
DESIGNERS = frozenset({"requester_a", "requester_b", "outbound_admin"})
# Department A's draft questionnaire: its author and the outbound administrators.
DRAFT_EDITORS = frozenset({"requester_a", "outbound_admin"})
RESULT_READERS = frozenset({"analyst", "outbound_admin"})
CAMPAIGN_READERS = frozenset({"requester_a", "analyst", "outbound_admin", "sysadmin"})
CAMPAIGN_VIEWERS = frozenset({"requester_a", "agent_a", "outbound_admin", "sysadmin"})
OPERATORS = frozenset({"outbound_admin", "sysadmin"})
AGENTS = frozenset({"agent_a", "agent_b"})
REQUESTERS = frozenset({"requester_a", "requester_b"})
HEARERS = frozenset({"agent_a", "analyst", "outbound_admin", "sysadmin"})
# A contact's number on demand: the campaign's requester and the outbound administrators
# (the agent who called the contact too: tests/accounts/test_number_reveal.py; the
# interview's contact here was never dialled by agent_a).
REVEALERS = frozenset({"requester_a", "outbound_admin"})
# The satisfaction index over time: the leaders, the analysts, the outbound administrators.
INDEX_READERS = frozenset({"centre_leader", "cs_leader", "analyst", "outbound_admin"})

# --- the rules -----------------------------------------------------------------------------

NOT_SERVED = "not served"  # the view refuses the method: 405


@dataclass(frozen=True)
class Rule:
    kwargs: Callable[[SimpleNamespace], dict]
    get: frozenset[str] | str
    post: frozenset[str] | str
    # page: login required, then the view's own checks; public: open to anybody;
    # webhook: Twilio's signature; sandbox: the sandbox's Basic credentials; api: a token.
    kind: str = "page"
    # The methods an API route serves (the others answer 405).
    serves: tuple[str, ...] = ()


def _none(w) -> dict:
    return {}


def CONTACT(w):
    return {"pk": w.interview.contact_id}


def HOLD(w):
    return {"pk": w.hold.pk}


def _roles(allowed):
    return allowed if allowed == NOT_SERVED else frozenset(allowed)


def page(kwargs=_none, *, get, post) -> Rule:
    return Rule(kwargs, _roles(get), _roles(post))


def public(kwargs=_none, *, get=EVERYONE, post=EVERYONE) -> Rule:
    return Rule(kwargs, _roles(get), _roles(post), kind="public")


def webhook(kwargs) -> Rule:
    return Rule(kwargs, NOBODY, NOBODY, kind="webhook")


def sandbox(kwargs) -> Rule:
    return Rule(kwargs, NOBODY, NOBODY, kind="sandbox")


def api(kwargs=_none, *, serves: str) -> Rule:
    return Rule(kwargs, NOBODY, NOBODY, kind="api", serves=tuple(serves.split()))


# The URL arguments, from the world built below.
def ORDER(w):
    return {"pk": w.order.pk}


def PENDING(w):
    return {"pk": w.pending.pk}


def CAMPAIGN(w):
    return {"order_pk": w.order.pk}


def IMPORT_DONE(w):
    return {"pk": w.import_done.pk}


def IMPORT_UPLOADED(w):
    return {"pk": w.import_uploaded.pk}


def QUESTIONNAIRE(w):
    return {"pk": w.draft.questionnaire_id}


def DRAFT(w):
    return {"pk": w.draft.pk}


def QUESTION(w):
    return {"pk": w.draft_question.pk}


def CHOICE(w):
    return {"pk": w.draft_choice.pk}


def RULE(w):
    return {"pk": w.draft_rule.pk}


def PUBLISHED(w):
    return {"pk": w.published.pk}


def EXPORT(w):
    return {"pk": w.export.pk}


def COMPUTED(w):
    return {"pk": w.computed.pk}


def INTERVIEW(w):
    return {"pk": w.interview.pk}


def INDICATOR(w):
    return {"pk": w.indicator.pk}


def MONTHLY_REPORT(w):
    return {"pk": w.monthly_report.pk}


def ATTEMPT(w):
    return {"attempt_id": w.attempt.pk}


def VOICE_QUESTION(w):
    return {"interview_id": w.interview.pk, "question_id": w.text_question.pk}


def ACCOUNT(w):
    return {"account_sid": w.account_sid}


def DRAFT_GREETING(w):
    return {"pk": w.draft.pk, "part": "greeting"}


def PUBLISHED_TEXT(w):
    return {"pk": w.published.pk, "question_pk": w.text_question.pk}


def CAMPAIGN_TEXT(w):
    return {"order_pk": w.order.pk, "question_pk": w.text_question.pk}


def ORDER_PAUSE(w):
    return {"pk": w.order.pk, "action": "pause"}


def RECORDING(w):
    return {"sid": w.recording.sid, "format": "mp3"}


RULES: dict[str, Rule] = {
    # Signing in and out, the language, the password.
    "home": page(get=SIGNED_IN, post=SIGNED_IN),
    "login": public(),
    "logout": public(get=NOT_SERVED),
    "password_change": page(get=SIGNED_IN, post=SIGNED_IN),
    "set_language": public(),
    "favicon": public(post=NOT_SERVED),
    # What the end of retention will remove: the system administrators.
    "retention:plan": page(get={"sysadmin"}, post=NOT_SERVED),
    # Work orders and their approval.
    "outbound:order_list": page(get=SIGNED_IN, post=SIGNED_IN),
    "outbound:order_create": page(get=REQUESTERS, post=REQUESTERS),
    "outbound:order_detail": page(ORDER, get=ORDER_READERS, post=ORDER_READERS),
    "outbound:order_edit": page(PENDING, get={"requester_a"}, post={"requester_a"}),
    "outbound:order_submit": page(PENDING, get=NOT_SERVED, post={"requester_a"}),
    "outbound:order_decide": page(PENDING, get=NOT_SERVED, post={"leader_a"}),
    "approvals:inbox": page(get=SIGNED_IN, post=SIGNED_IN),
    # A campaign's contacts and imports; the lists never to call.
    "contacts:campaign_contacts": page(CAMPAIGN, get=CONTACT_MANAGERS, post=CONTACT_MANAGERS),
    "contacts:number_reveal": page(CONTACT, get=NOT_SERVED, post=REVEALERS),
    # Contacts added once the campaign started: the outbound administrators decide (and
    # the system administrator, a superuser).
    "contacts:hold_accept": page(HOLD, get=NOT_SERVED, post=OPERATORS),
    "contacts:hold_decline": page(HOLD, get=NOT_SERVED, post=OPERATORS),
    "contacts:import_upload": page(CAMPAIGN, get=CONTACT_MANAGERS, post=CONTACT_MANAGERS),
    "contacts:import_detail": page(IMPORT_DONE, get=CONTACT_MANAGERS, post=CONTACT_MANAGERS),
    "contacts:import_map": page(IMPORT_UPLOADED, get=CONTACT_MANAGERS, post=CONTACT_MANAGERS),
    "contacts:import_status": page(IMPORT_DONE, get=CONTACT_MANAGERS, post=CONTACT_MANAGERS),
    "contacts:import_rejects": page(IMPORT_DONE, get=CONTACT_MANAGERS, post=CONTACT_MANAGERS),
    "contacts:dnc_list": page(get=LIST_ADMINS, post=LIST_ADMINS),
    "contacts:dnc_add": page(get=NOT_SERVED, post=LIST_ADMINS),
    "contacts:dnc_upload": page(get=NOT_SERVED, post=LIST_ADMINS),
    "contacts:dnc_remove": page(lambda w: {"pk": w.dnc.pk}, get=NOT_SERVED, post=LIST_ADMINS),
    "contacts:red_list": page(get=LIST_ADMINS, post=LIST_ADMINS),
    "contacts:red_list_add": page(get=NOT_SERVED, post=LIST_ADMINS),
    "contacts:red_list_upload": page(get=NOT_SERVED, post=LIST_ADMINS),
    "contacts:red_list_remove": page(lambda w: {"pk": w.red.pk}, get=NOT_SERVED, post=LIST_ADMINS),
    # Questionnaires: department A's draft, seen and changed by its author and the admins.
    "surveys:questionnaire_list": page(get=SIGNED_IN, post=NOT_SERVED),
    "surveys:questionnaire_create": page(get=DESIGNERS, post=DESIGNERS),
    "surveys:questionnaire_import": page(get=DESIGNERS, post=DESIGNERS),
    "surveys:questionnaire_template": page(get=DESIGNERS, post=NOT_SERVED),
    "surveys:questionnaire_detail": page(QUESTIONNAIRE, get=DRAFT_EDITORS, post=NOT_SERVED),
    "surveys:questionnaire_new_draft": page(QUESTIONNAIRE, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:questionnaire_import_version": page(QUESTIONNAIRE, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:version_detail": page(DRAFT, get=DRAFT_EDITORS, post=NOT_SERVED),
    "surveys:version_parts": page(DRAFT_GREETING, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:question_add": page(DRAFT, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:version_check": page(DRAFT, get=DRAFT_EDITORS, post=NOT_SERVED),
    "surveys:version_publish": page(DRAFT, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:version_discard": page(DRAFT, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:version_copy": page(DRAFT, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:version_preview": page(DRAFT, get=DRAFT_EDITORS, post=DRAFT_EDITORS),
    "surveys:version_export": page(DRAFT, get=DRAFT_EDITORS, post=NOT_SERVED),
    "surveys:question_edit": page(QUESTION, get=DRAFT_EDITORS, post=DRAFT_EDITORS),
    "surveys:question_move": page(QUESTION, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:question_duplicate": page(QUESTION, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:question_delete": page(QUESTION, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:question_preset": page(QUESTION, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:question_choices": page(QUESTION, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:choice_add": page(QUESTION, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:rule_add": page(QUESTION, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:choice_edit": page(CHOICE, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:choice_move": page(CHOICE, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:choice_delete": page(CHOICE, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:rule_edit": page(RULE, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:rule_move": page(RULE, get=NOT_SERVED, post=DRAFT_EDITORS),
    "surveys:rule_delete": page(RULE, get=NOT_SERVED, post=DRAFT_EDITORS),
    # Results of a published version; an export is its asker's alone.
    "reports:version_list": page(get=RESULT_READERS, post=NOT_SERVED),
    "reports:results": page(PUBLISHED, get=RESULT_READERS, post=NOT_SERVED),
    "reports:open_answers": page(PUBLISHED_TEXT, get=RESULT_READERS, post=NOT_SERVED),
    "reports:analysis": page(PUBLISHED, get=RESULT_READERS, post={"analyst"}),
    "reports:export_start": page(PUBLISHED, get=NOT_SERVED, post=RESULT_READERS),
    "reports:export_detail": page(EXPORT, get={"requester_a"}, post=NOT_SERVED),
    "reports:export_status": page(EXPORT, get={"requester_a"}, post=NOT_SERVED),
    "reports:export_download": page(EXPORT, get={"requester_a"}, post=NOT_SERVED),
    "reports:computed_status": page(COMPUTED, get=CAMPAIGN_READERS, post=NOT_SERVED),
    "reports:computed_again": page(COMPUTED, get=NOT_SERVED, post=CAMPAIGN_READERS),
    # Department A's campaign: its results, its page, its controls.
    "campaign_reports:results": page(CAMPAIGN, get=CAMPAIGN_READERS, post=NOT_SERVED),
    "campaign_reports:open_answers": page(CAMPAIGN_TEXT, get=CAMPAIGN_READERS, post=NOT_SERVED),
    "campaign_reports:analysis": page(CAMPAIGN, get=CAMPAIGN_READERS, post={"analyst"}),
    "campaign_reports:export_start": page(CAMPAIGN, get=NOT_SERVED, post=CAMPAIGN_READERS),
    # The branch's satisfaction index over time: its leaders and those who run the surveys.
    "reports:leaders": page(get=INDEX_READERS, post=NOT_SERVED),
    "reports:leaders_indicator": page(INDICATOR, get=INDEX_READERS, post=NOT_SERVED),
    "reports:leaders_report": page(MONTHLY_REPORT, get=INDEX_READERS, post=NOT_SERVED),
    "reports:leaders_report_download": page(MONTHLY_REPORT, get=INDEX_READERS, post=NOT_SERVED),
    "campaigns:telephony_check": page(get={"sysadmin"}, post=NOT_SERVED),
    "campaigns:detail": page(ORDER, get=CAMPAIGN_VIEWERS, post=NOT_SERVED),
    "campaigns:live": page(ORDER, get=CAMPAIGN_VIEWERS, post=NOT_SERVED),
    "campaigns:settings": page(ORDER, get=OPERATORS, post=OPERATORS),
    "campaigns:control": page(ORDER_PAUSE, get=NOT_SERVED, post=OPERATORS),
    # The agent console and the supervisor.
    "agent:campaigns": page(get=AGENTS, post=NOT_SERVED),
    "agent:desk": page(ORDER, get={"agent_a"}, post=NOT_SERVED),
    "agent:sign_in": page(ORDER, get=NOT_SERVED, post={"agent_a"}),
    "agent:next": page(ORDER, get=NOT_SERVED, post={"agent_a"}),
    "agent:pause": page(get=NOT_SERVED, post=AGENTS),
    "agent:resume": page(get=NOT_SERVED, post=AGENTS),
    "agent:sign_out": page(get=NOT_SERVED, post=AGENTS),
    "agent:interview": page(INTERVIEW, get={"agent_a"}, post=NOT_SERVED),
    "agent:call": page(INTERVIEW, get={"agent_a"}, post=NOT_SERVED),
    "agent:dial": page(INTERVIEW, get=NOT_SERVED, post={"agent_a"}),
    "agent:hang_up": page(INTERVIEW, get=NOT_SERVED, post={"agent_a"}),
    "agent:answer": page(INTERVIEW, get=NOT_SERVED, post={"agent_a"}),
    "agent:back": page(INTERVIEW, get=NOT_SERVED, post={"agent_a"}),
    "agent:finish": page(INTERVIEW, get=NOT_SERVED, post={"agent_a"}),
    "agent:release": page(INTERVIEW, get=NOT_SERVED, post={"agent_a"}),
    "agent:supervisor": page(get=OPERATORS, post=NOT_SERVED),
    "agent:supervisor_json": page(get=OPERATORS, post=NOT_SERVED),
    # Recordings: those who hear every call, and the agent who made it.
    "recordings:audio": page(RECORDING, get=HEARERS, post=NOT_SERVED),
    # The audit trail: the system administrators.
    "accounts:audit_list": page(get={"sysadmin"}, post=NOT_SERVED),
    # What the carrier calls: refused without Twilio's signature, whoever is signed in.
    "telephony:status": webhook(ATTEMPT),
    "telephony:twiml": webhook(ATTEMPT),
    "telephony:health": public(post=NOT_SERVED),
    "recordings:callback": webhook(ATTEMPT),
    "voice:start": webhook(ATTEMPT),
    "voice:opt_out": webhook(lambda w: {"interview_id": w.interview.pk}),
    "voice:gather": webhook(VOICE_QUESTION),
    "voice:recording_status": webhook(VOICE_QUESTION),
    "voice:bridge": webhook(ATTEMPT),
    "voice:bridge_status": webhook(ATTEMPT),
    "voice:bridge_dialled": webhook(ATTEMPT),
    # The sandbox's Twilio-shaped API: its own Basic credentials, never a session.
    "sandbox:account": sandbox(ACCOUNT),
    "sandbox:calls": sandbox(ACCOUNT),
    "sandbox:call_detail": sandbox(lambda w: {**ACCOUNT(w), "sid": "CA" + "0" * 32}),
    "sandbox:incoming_phone_numbers": sandbox(ACCOUNT),
    "sandbox:outgoing_caller_ids": sandbox(ACCOUNT),
    "sandbox:recording_resource": sandbox(lambda w: {**ACCOUNT(w), "sid": w.recording.sid}),
    "sandbox:recording": sandbox(lambda w: {**ACCOUNT(w), "sid": w.recording.sid, "format": "mp3"}),
    # The token API: a session is no token (the scopes are tests/api's).
    "api-v1:openapi-json": public(),
    "api-v1:openapi-view": public(),
    "api-v1:api-root": public(get=NOBODY, post=NOBODY),
    "api-v1:order_file": api(serves="post"),
    "api-v1:order_submit": api(lambda w: {"order_id": w.order.pk}, serves="post"),
    "api-v1:order_read": api(lambda w: {"order_id": w.order.pk}, serves="get"),
    "api-v1:contacts_push_endpoint": api(lambda w: {"campaign_id": w.order.pk}, serves="post"),
    "api-v1:campaign_progress_read": api(lambda w: {"campaign_id": w.order.pk}, serves="get"),
    "api-v1:interviews_read": api(lambda w: {"campaign_id": w.order.pk}, serves="get"),
    "api-v1:tables_read": api(lambda w: {"campaign_id": w.order.pk}, serves="get"),
    "api-v1:dnc_create": api(serves="post"),
    "api-v1:dnc_delete": api(lambda w: {"phone": w.dnc.phone}, serves="delete"),
    "api-v1:subscriptions_list": api(serves="get post"),
    "api-v1:subscriptions_create": api(serves="get post"),
    "api-v1:subscriptions_delete": api(lambda w: {"subscription_id": 1}, serves="delete"),
    "api-v1:deliveries_list": api(lambda w: {"subscription_id": 1}, serves="get"),
}  # fmt: skip

# Django's own admin checks staff itself (see test_the_admin_turns_away_everyone_but_staff).
EXCLUDED_PREFIXES = ("admin/",)


# --- the patterns ------------------------------------------------------------------------


def _patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _patterns(entry, route, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if entry.name and namespace else entry.name
            yield route, name


def url_patterns() -> list[tuple[str, str | None]]:
    """(route, name) of every pattern but the admin's."""
    return [
        (route, name)
        for route, name in _patterns(get_resolver())
        if not route.startswith(EXCLUDED_PREFIXES)
    ]


def test_every_url_pattern_has_a_rule():
    patterns = url_patterns()
    unnamed = [route for route, name in patterns if not name]
    assert not unnamed, f"URL patterns without a name (give them one): {unnamed}"
    names = {name for _route, name in patterns}
    missing = sorted(names - RULES.keys())
    assert not missing, f"URL patterns without a rule in RULES (add a line each): {missing}"
    stale = sorted(RULES.keys() - names)
    assert not stale, f"rules for URL patterns that no longer exist: {stale}"


# --- the world ---------------------------------------------------------------------------


def _rejects_workbook() -> bytes:
    """A rejected rows' workbook as the import writes it (a masked copy is made of it for
    those who may not see numbers whole)."""
    from io import BytesIO

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["phone", "reason"])
    book.active.append(["not a number", "invalid"])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _build_world() -> SimpleNamespace:
    from accounts.models import Department
    from outbound.agent import services as agent_services
    from outbound.contacts import services as contact_services
    from outbound.dialer import services as dialer_services
    from outbound.models import (
        CampaignSettings,
        Contact,
        ContactHold,
        ContactImport,
        DoNotCallEntry,
        Recording,
        RedListEntry,
        WorkOrder,
    )
    from outbound.services import order_decide, order_submit
    from reports.models import ComputedResults, ExportJob, ExportStatus
    from surveys.models import QuestionType
    from tests.factories import Org, make_order
    from tests.outbound.test_dialer_fixtures import ALL_DAY, open_attempt
    from tests.surveys.factories import english_questionnaire

    org = Org()
    agent_b = UserFactory(
        username="agent_b",
        department=Department.objects.get(code="centre"),
        roles=[Role.CALL_AGENT],
        agent_no="1099",
    )
    sysadmin = UserFactory(username="sysadmin", department=org.cs, is_staff=True)
    sysadmin.is_superuser = True
    sysadmin.save(update_fields=["is_superuser"])
    org.agent.phone = "+15005550100"
    org.agent.save(update_fields=["phone"])
    users = {
        "no_role": org.nobody,
        "requester_a": org.requester,
        "requester_b": org.other_requester,
        "leader_a": org.leader,
        "leader_b": org.other_leader,
        "outbound_admin": org.outbound_admin,
        "cs_leader": org.cs_leader,
        "centre_leader": org.centre_leader,
        "agent_a": org.agent,
        "agent_b": agent_b,
        "analyst": org.analyst,
        "sysadmin": sysadmin,
    }

    # Department A's order, through the whole chain, running with agents.
    order = make_order(org.requester, mode=WorkOrder.Mode.AGENTS, title=SECRETS[0])
    with TestCase.captureOnCommitCallbacks(execute=True):
        order_submit(order=order, user=org.requester)
    for position in range(1, 7):
        with TestCase.captureOnCommitCallbacks(execute=True):
            order_decide(
                order=order,
                user=org.step_actor(position),
                action="approve",
                comment="",
                assignment=org.assignment() if position == 4 else None,
            )
    order.refresh_from_db()
    assert order.run_status == WorkOrder.RunStatus.READY
    Contact.objects.bulk_create(
        [
            Contact(campaign=order, phone=f"+8613800000{n:03d}", name=f"{SECRETS[1]} {n}")
            for n in range(3)
        ]
    )
    CampaignSettings.objects.update_or_create(
        campaign=order,
        defaults={"weekly_hours": ALL_DAY, "calls_on_holidays": True, "calls_per_second": 1000.0},
    )
    dialer_services.campaign_start(campaign=order, user=org.outbound_admin)
    order.refresh_from_db()
    interview = agent_services.contact_reserve(campaign=order, agent=org.agent)
    assert interview is not None
    other = order.contacts.exclude(pk=interview.contact_id).order_by("pk").first()
    attempt = open_attempt(order, other)
    recording = Recording.objects.create(
        attempt=attempt,
        sid="RE" + "a" * 32,
        account_sid=telephony.account_sid(),
        call_sid=attempt.call_sid,
        agent=org.agent,
        status=Recording.Status.COMPLETED,
        duration=12,
    )
    import_uploaded = ContactImport.objects.create(
        campaign=order,
        uploaded_by=org.requester,
        file=ContentFile(b"phone\n+8613800000999\n", name="list.csv"),
        original_name="list.csv",
        file_format=ContactImport.Format.CSV,
        header=["phone"],
        preview=[["+8613800000999"]],
        status=ContactImport.Status.UPLOADED,
    )
    import_done = ContactImport.objects.create(
        campaign=order,
        uploaded_by=org.requester,
        file=ContentFile(b"phone\nnot a number\n", name="list.csv"),
        original_name="list.csv",
        file_format=ContactImport.Format.CSV,
        header=["phone"],
        status=ContactImport.Status.DONE,
        progress=1.0,
        rows_read=1,
        invalid=1,
        rejects_file=ContentFile(_rejects_workbook(), name="rejected.xlsx"),
        finished_at=timezone.now(),
    )
    published = order.questionnaire
    text_question = published.questions.filter(type=QuestionType.TEXT).order_by("position").first()
    export = ExportJob.objects.create(
        version=published,
        work_order=order,
        status=ExportStatus.DONE,
        progress=100,
        file=ContentFile(b"workbook", name="export.xlsx"),
        created_by=org.requester,
        finished_at=timezone.now(),
    )
    computed = ComputedResults.objects.create(
        version=published, work_order=order, key="f" * 64, options={"filters": {}}
    )

    # Department A's order still waiting for its department leader.
    pending = make_order(org.requester, title=SECRETS[2])
    order_submit(order=pending, user=org.requester)

    # Department A's questionnaire, a draft its requester wrote.
    draft = english_questionnaire(name=SECRETS[3], publish=False, created_by=org.requester)
    draft_question = draft.questions.filter(choices__isnull=False).order_by("position").first()
    draft_rule = draft.questions.filter(rules__isnull=False).first().rules.order_by("pk").first()

    dnc = contact_services.dnc_add(
        phone="+8613900000001",
        reason="Asked not to be called",
        source=DoNotCallEntry.Source.MANUAL,
        campaign=None,
        added_by=org.outbound_admin,
    )
    hold = ContactHold.objects.create(
        campaign=order, source=ContactHold.Source.API, label="batch-1", contacts_count=0
    )
    today = timezone.localdate()
    red = RedListEntry.objects.create(
        phone="+8613900000002",
        customer_name="Key customer",
        starts_on=today,
        ends_on=today + datetime.timedelta(days=90),
        added_by=org.outbound_admin,
    )
    from reports.models import Indicator, MonthlyReport

    indicator, _created = Indicator.objects.get_or_create(
        code="satisfaction", defaults={"name": "Satisfaction", "level": 1}
    )
    monthly_report = MonthlyReport.objects.create(
        month=datetime.date(2025, 3, 1),
        figures={
            "month": "2025-03",
            "index": {"percent": None, "low": None, "high": None, "n": 0, "small": True},
            "previous": {"points": None, "p": None, "significant": False},
            "year_before": {"points": None, "p": None, "significant": False},
            "rows": [],
            "weak": [],
            "complaint": {"percent": None, "n": 0, "target": 78.0, "met": None},
            "campaigns": 0,
        },
        built_at=timezone.now(),
    )
    return SimpleNamespace(
        users=users,
        indicator=indicator,
        monthly_report=monthly_report,
        assignment=org.assignment(),
        order=order,
        pending=pending,
        interview=interview,
        hold=hold,
        attempt=attempt,
        recording=recording,
        import_uploaded=import_uploaded,
        import_done=import_done,
        published=published,
        text_question=text_question,
        export=export,
        computed=computed,
        draft=draft,
        draft_question=draft_question,
        draft_choice=draft_question.choices.order_by("position").first(),
        draft_rule=draft_rule,
        dnc=dnc,
        red=red,
        account_sid=telephony.account_sid(),
    )


def _integration_token(world) -> str:
    """A token of department A's integration with every scope."""
    from api.models import Integration, Scope
    from api.services import integration_issue_token

    integration = Integration.objects.create(
        name="crm", scopes=list(Scope.values), requester=world.users["requester_a"]
    )
    integration.departments.set([world.order.department])
    return integration_issue_token(integration=integration)


TELEPHONY = {
    "TWILIO_ACCOUNT_SID": "",
    "TWILIO_AUTH_TOKEN": "",
    "PUBLIC_BASE_URL": "http://testserver",
    # Nothing listens there: a call or a recording asked of the carrier fails at once.
    "WAIHU_SANDBOX_API_URL": "http://127.0.0.1:9/sandbox",
    "WAIHU_SANDBOX": True,
    "WAIHU_SANDBOX_PLAY": False,
    "WAIHU_SANDBOX_ACCOUNT_STATUS": "active",
    "WAIHU_SANDBOX_OWNED_NUMBERS": ["+8673110086"],
    "WAIHU_SANDBOX_VERIFIED_CALLER_IDS": [],
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The data, built once in a transaction that is rolled back when the module ends; each
    test's own savepoint (the `db` fixture) undoes whatever its request changed."""
    with (
        tempfile.TemporaryDirectory() as media,
        override_settings(MEDIA_ROOT=media, **TELEPHONY),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        built = _build_world()
        built.sessions = {}
        built.token = _integration_token(built)
        for role, user in built.users.items():
            client = Client()
            client.force_login(user)
            built.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
        yield built
        transaction.set_rollback(True)


def _client(world, role: str) -> Client:
    client = Client(headers={"accept-language": "en"})
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


# --- the matrix --------------------------------------------------------------------------

LOGIN = reverse("login")
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# Written on any request: the session (the user's last activity) and the login throttle.
UNWATCHED_TABLES = ("django_session", "axes_")


def _writes(queries) -> list[str]:
    found = []
    for query in queries:
        sql = query["sql"]
        if WRITE.match(sql) and not any(table in sql for table in UNWATCHED_TABLES):
            found.append(sql[:200])
    return found


def _to_login(response) -> bool:
    return response.status_code == 302 and response.url.split("?")[0] == LOGIN


def _methods(rule: Rule) -> tuple[str, ...]:
    return ("get", "post", *(m for m in rule.serves if m not in ("get", "post")))


def _cases():
    for name, rule in RULES.items():
        for method in _methods(rule):
            for role in ROLES:
                yield pytest.param(name, role, method, id=f"{name}-{method}-{role}")


def _expect_refused(rule: Rule, role: str, response, seen: str) -> None:
    if role == "anonymous" and rule.kind == "page":
        assert _to_login(response), seen
    else:
        assert response.status_code in (403, 404), seen


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role", "method"), list(_cases()))
def test_matrix(world, name, role, method):
    rule = RULES[name]
    url = reverse(name, kwargs=rule.kwargs(world))
    client = _client(world, role)
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url)
    status = response.status_code
    writes = _writes(queries.captured_queries)
    seen = f"{method.upper()} {url} as {role}: {status}"
    if role in OUTSIDERS and not response.streaming:
        # Whatever the answer, a page, a refusal or JSON, nothing of department A's in it.
        body = response.content.decode(errors="replace")
        leaked = [secret for secret in SECRETS if secret in body]
        assert not leaked, (seen, leaked)

    if rule.kind in ("webhook", "sandbox", "api"):
        # Refused before anything is read or written, whoever is signed in: no Twilio
        # signature (403), no sandbox credentials (401), no token (401).
        if rule.kind == "api" and method not in rule.serves:
            assert status == 405, seen
        else:
            assert status == {"webhook": 403, "sandbox": 401, "api": 401}[rule.kind], seen
        assert not writes, (seen, writes)
        return
    expected = getattr(rule, method)
    if expected == NOT_SERVED:
        if role == "anonymous" and (rule.kind == "page" or _to_login(response)):
            assert _to_login(response), seen
        else:
            assert status == 405, seen
        assert not writes, (seen, writes)
    elif role in expected:
        assert status not in (401, 403, 404), seen
        if rule.kind == "page":
            assert not _to_login(response), seen
    else:
        _expect_refused(rule, role, response, seen)
        if method == "post":
            assert not writes, (seen, writes)


@pytest.mark.django_db
def test_another_department_never_sees_an_order_at_any_step(world):
    """The matrix asks about an approved order and one at its first step; here the order
    walks the whole chain and department B's people are refused it at every step."""
    from outbound.services import order_decide, order_submit
    from tests.factories import make_order

    requester = world.users["requester_a"]
    order = make_order(requester, title="Walked through the chain")
    url = reverse("outbound:order_detail", args=[order.pk])
    outsiders = ("no_role", "requester_b", "leader_b")
    actors = {1: "leader_a", 2: "outbound_admin", 3: "cs_leader", 4: "outbound_admin"}
    actors |= {5: "centre_leader", 6: "agent_a"}
    for step in range(0, 7):
        if step == 0:
            order_submit(order=order, user=requester)
        else:
            order_decide(
                order=order,
                user=world.users[actors[step]],
                action="approve",
                comment="",
                assignment=world.assignment if step == 4 else None,
            )
        for role in outsiders:
            status = _client(world, role).get(url).status_code
            assert status == 404, (step, role, status)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "kwargs", "secrets"),
    [
        ("outbound:order_list", _none, SECRETS[0::2]),
        ("contacts:campaign_contacts", CAMPAIGN, SECRETS[1:2]),
        ("surveys:questionnaire_list", _none, SECRETS[3:]),
    ],
)
def test_department_a_reads_the_words_the_outsiders_never_see(world, name, kwargs, secrets):
    """Otherwise the matrix's look for them in the outsiders' pages would prove nothing."""
    body = _client(world, "requester_a").get(reverse(name, kwargs=kwargs(world))).content
    for secret in secrets:
        assert secret in body.decode()


# --- the guards let the rightful caller through --------------------------------------------
# Without these, the 403s and 401s above could come from a guard that refuses everybody.


def _kind(kind: str) -> list[str]:
    return [name for name, rule in RULES.items() if rule.kind == kind]


@pytest.mark.django_db
@pytest.mark.parametrize("name", _kind("webhook"))
def test_a_signed_webhook_passes_the_signature_check(world, name):
    url = reverse(name, kwargs=RULES[name].kwargs(world))
    params = {"CallSid": world.attempt.call_sid}
    signature = telephony.sign(settings.PUBLIC_BASE_URL + url, params)
    response = Client().post(url, params, headers={"X-Twilio-Signature": signature})
    assert response.status_code != 403, (url, response.status_code)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", _kind("sandbox"))
def test_the_sandbox_answers_its_own_credentials(world, name):
    url = reverse(name, kwargs=RULES[name].kwargs(world))
    auth = _basic(world.account_sid, telephony.sandbox_auth_token())
    response = Client().get(url, headers={"Authorization": auth})
    assert response.status_code not in (401, 403), (url, response.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize("name", _kind("api"))
def test_the_api_answers_a_token(world, name):
    rule = RULES[name]
    url = reverse(name, kwargs=rule.kwargs(world))
    method = rule.serves[0]
    response = getattr(Client(), method)(
        url, content_type="application/json", headers={"Authorization": f"Bearer {world.token}"}
    )
    assert response.status_code not in (401, 405), (url, response.status_code)


@pytest.mark.django_db
def test_a_write_is_seen_by_the_matrix(world):
    """The refused POSTs above are checked for writes; this one is allowed and does write."""
    client = _client(world, "outbound_admin")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("contacts:dnc_add"), {"phone": "+8613900000099"})
    assert response.status_code == 302
    assert any("donotcallentry" in sql for sql in _writes(queries.captured_queries))


# --- what the matrix leaves to others ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_the_admin_turns_away_everyone_but_staff(world, role):
    response = _client(world, role).get(reverse("admin:index"))
    if role == "sysadmin":
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login")), response.url


@pytest.mark.django_db
def test_signing_out_ends_the_session(world):
    client = _client(world, "requester_a")
    assert client.post(reverse("logout")).status_code == 302
    assert _to_login(client.get(reverse("outbound:order_list")))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["anonymous", "sysadmin"])
def test_health_and_metrics_answer_without_a_session_and_ignore_one(world, role, settings):
    client = _client(world, role)
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code in (200, 503) and "checks" in ready.json()
    assert client.get("/metrics").status_code == 404  # off while no token is set
    settings.WAIHU_METRICS_TOKEN = "m" * 20
    assert client.get("/metrics").status_code == 401  # a session is not the scraper's token
