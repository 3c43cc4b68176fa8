"""A running agent campaign in which every way a number is seen happens once: the agent
holds one contact now (CURRENT, nameless, so pages show the number), has called another
(CALLED, a finished interview), and a third was interviewed by someone else (OTHER, who
dictated a number into an open answer). The contacts' numbers end in distinct digits so a
page's text says which it shows, whole or masked."""

import datetime
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.privacy import mask_phone
from accounts.roles import Role
from approvals.models import ApprovalRequest
from outbound.agent import services as agent_services
from outbound.contacts import services as contact_services
from outbound.models import (
    CallAttempt,
    Contact,
    ContactImport,
    DoNotCallEntry,
    Interview,
    RedListEntry,
    WorkOrder,
)
from surveys.models import Answer, Question, QuestionType
from tests.api.helpers import interview_done
from tests.factories import Org, UserFactory
from tests.outbound.test_agent_fixtures import agent_campaign

CURRENT = "+8613800001111"
CALLED = "+8613900002222"
OTHER = "+8613700003333"
# Dictated by OTHER into the open question.
DICTATED = "13512344444"
DNC = "+8613600005555"
RED = "+8615000006666"

ROLES = ("requester", "approver", "outbound_admin", "agent", "analyst", "system_admin")


def digits(number: str) -> str:
    """The national digits, as every form of the number (E.164, plain) contains them."""
    return number.removeprefix("+86")


def masked(number: str) -> str:
    return mask_phone(number)


@dataclass
class Scenario:
    org: Org
    campaign: WorkOrder
    users: dict
    contacts: dict
    held: Interview
    called: Interview
    other: Interview
    text_question: Question
    rejects_job: ContactImport
    mapping_job: ContactImport
    extras: dict = field(default_factory=dict)


def _attempt(contact: Contact, *, finished: bool) -> CallAttempt:
    now = timezone.now()
    return CallAttempt.objects.create(
        campaign=contact.campaign,
        contact=contact,
        number=1,
        to=contact.phone,
        caller_id="+8673110086",
        status=CallAttempt.Status.COMPLETED if finished else CallAttempt.Status.IN_PROGRESS,
        outcome="answered" if finished else "",
        duration=60 if finished else None,
        finished_at=now if finished else None,
    )


def _upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("list.csv", text.encode(), content_type="text/csv")


def build(capture) -> Scenario:
    """The scenario; `capture` is pytest-django's django_capture_on_commit_callbacks."""
    org = Org()
    system_admin = UserFactory(
        username="sysadmin", department=org.cs, is_superuser=True, is_staff=True
    )
    order = agent_campaign(org, phones=[CURRENT, CALLED, OTHER])
    # Ready to call means approved: the chain's request says so.
    ApprovalRequest.objects.filter(subject_id=order.pk).update(
        status=ApprovalRequest.Status.APPROVED
    )
    Contact.objects.filter(campaign=order, phone=CURRENT).update(name="")
    contacts = {c.phone: c for c in Contact.objects.filter(campaign=order)}

    # The agent's contact now: signed in, held, the customer's leg ringing.
    agent_services.agent_sign_in(agent=org.agent, campaign=order)
    held = agent_services.contact_reserve(campaign=order, agent=org.agent)
    assert held.contact.phone == CURRENT
    held.attempt = _attempt(held.contact, finished=False)
    held.save(update_fields=["attempt"])

    closed = timezone.now() - datetime.timedelta(hours=1)
    called = interview_done(order, CALLED, closed)
    called.agent = org.agent
    called.attempt = _attempt(contacts[CALLED], finished=True)
    called.save(update_fields=["agent", "attempt"])
    other = interview_done(order, OTHER, closed)
    other.attempt = _attempt(contacts[OTHER], finished=True)
    other.save(update_fields=["attempt"])
    text_question = Question.objects.filter(
        version=order.questionnaire, type=QuestionType.TEXT
    ).first()
    Answer.objects.create(
        response=other.response,
        question=text_question,
        text=f"Call me back on {DICTATED}, please",
        answered_at=closed,
    )

    DoNotCallEntry.objects.create(phone=DNC, source="manual")
    today = timezone.localdate()
    RedListEntry.objects.create(
        phone=RED,
        customer_name="Key customer",
        reason="VIP",
        starts_on=today,
        ends_on=today + datetime.timedelta(days=30),
    )

    # A list whose one row is already in the campaign: the rejected rows' workbook has it.
    with capture(execute=True):  # the worker reads the list's columns
        rejects_job = contact_services.import_create(
            campaign=order,
            user=org.outbound_admin,
            upload=_upload(f"phone,name\r\n{digits(OTHER)},again\r\n"),
        )
    rejects_job.refresh_from_db()
    with capture(execute=True):
        contact_services.import_start(
            job=rejects_job,
            user=org.outbound_admin,
            mapping={"phone": 0, "name": 1},
            deadline_days=7,
        )
    rejects_job.refresh_from_db()
    assert rejects_job.rejects_file
    # A list uploaded and not mapped yet: its preview shows the first rows.
    with capture(execute=True):
        mapping_job = contact_services.import_create(
            campaign=order,
            user=org.requester,
            upload=_upload(f"phone,name\r\n{digits(CALLED)},again\r\n"),
        )
    mapping_job.refresh_from_db()

    users = {
        "requester": org.requester,
        "approver": org.cs_leader,
        "outbound_admin": org.outbound_admin,
        "agent": org.agent,
        "analyst": org.analyst,
        "system_admin": system_admin,
    }
    assert org.requester.has_role(Role.REQUESTER) and not system_admin.has_role(Role.OUTBOUND_ADMIN)
    return Scenario(
        org=org,
        campaign=order,
        users=users,
        contacts=contacts,
        held=held,
        called=called,
        other=other,
        text_question=text_question,
        rejects_job=rejects_job,
        mapping_job=mapping_job,
    )
