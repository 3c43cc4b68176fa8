# ruff: noqa: E501  (the plan reads as a table)
"""A campaign whose every contact ends in a known state, for the outcome figures and the
campaign results page. Each contact's calls, dialing state and interview are stored as the
dialer and the agent console leave them; the figures in the tests are counted by hand
from the table below.

Days: D1 is Monday 2 March 2026, D2 the next day (Asia/Shanghai). Agents A and B.

contact  attempts (outcome day hour:minute)       dialing state         interview
c1       no_answer D1 10:05, answered D2 14:00    reached               A completed 14:00-14:10
c2       answered D2 15:00                        reached               A completed 15:00-15:06
c3       busy D1 10:10, answered D2 14:30         reached               B completed 14:30-14:38
c4       answered D2 16:00                        pending               B partial, open
c5       answered D1 11:00                        reached               A refused 11:00-11:02
c6       answered D1 11:30                        excluded (dnc)        A do not call 11:30-11:31
c7       answered D1 12:00                        pending               B callback, open
c8       no_answer D1 10:20, D2 10:00, D2 17:00   finished              —
c9       busy D1 10:30                            finished              —
c10      machine D1 10:40                         finished              —
c11      failed D1 10:50                          finished              —
c12      —                                        pending, 0 attempts   —
c13      —                                        (not enrolled)        —
c14      answered D1 13:00                        reached               A not eligible 13:00-13:03
c15      answered D2 10:30                        invalid               B wrong number 10:30-10:31
c16      invalid D1 10:55                         invalid               —
c17      —                                        excluded (red list)   —
c18      answered D1 09:00                        reached               —
"""

import datetime
import random

from django.utils import timezone

from outbound.models import CallAttempt, Contact, DialState, Interview, WorkOrder
from surveys.models import Response, ResponseStatus
from tests.reports.data import bulk_interviews, demo_answers

D1 = datetime.date(2026, 3, 2)
D2 = datetime.date(2026, 3, 3)

FINAL_STATUS = {
    "answered": "completed",
    "busy": "busy",
    "no_answer": "no-answer",
    "machine": "completed",
    "failed": "failed",
    "invalid": "failed",
}


def at(day: datetime.date, hhmm: str) -> datetime.datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _plan(a, b):
    """(attempts, dialing state, interview) per contact, as in the module's table."""
    return [
        ([("no_answer", D1, "10:05"), ("answered", D2, "14:00")], "reached", "", (a, "completed", D2, "14:00", 10)),
        ([("answered", D2, "15:00")], "reached", "", (a, "completed", D2, "15:00", 6)),
        ([("busy", D1, "10:10"), ("answered", D2, "14:30")], "reached", "", (b, "completed", D2, "14:30", 8)),
        ([("answered", D2, "16:00")], "pending", "", (b, "partial", D2, "16:00", None)),
        ([("answered", D1, "11:00")], "reached", "", (a, "refused", D1, "11:00", 2)),
        ([("answered", D1, "11:30")], "excluded", "do_not_call", (a, "do_not_call", D1, "11:30", 1)),
        ([("answered", D1, "12:00")], "pending", "", (b, "callback", D1, "12:00", None)),
        ([("no_answer", D1, "10:20"), ("no_answer", D2, "10:00"), ("no_answer", D2, "17:00")], "finished", "", None),
        ([("busy", D1, "10:30")], "finished", "", None),
        ([("machine", D1, "10:40")], "finished", "", None),
        ([("failed", D1, "10:50")], "finished", "", None),
        ([], "pending", "", None),
        ([], None, "", None),
        ([("answered", D1, "13:00")], "reached", "", (a, "not_eligible", D1, "13:00", 3)),
        ([("answered", D2, "10:30")], "invalid", "", (b, "wrong_number", D2, "10:30", 1)),
        ([("invalid", D1, "10:55")], "invalid", "", None),
        ([], "excluded", "red_list", None),
        ([("answered", D1, "09:00")], "reached", "", None),
    ]  # fmt: skip


RESPONSE_STATUS = {
    "completed": ResponseStatus.COMPLETED,
    "partial": ResponseStatus.IN_PROGRESS,
    "callback": ResponseStatus.IN_PROGRESS,
    "not_eligible": ResponseStatus.SCREENED_OUT,
}

BRANDS = ["神州行", "全球通", "动感地带"]


def build_campaign(order: WorkOrder, agent_a, agent_b, *, extra_completes: int = 0) -> dict:
    """Stores the table's 18 contacts (c1..c18) in the order, plus `extra_completes` more
    completed contacts by agent A on D2 at 09:00; returns the contacts by name."""
    version = order.questionnaire
    plan = _plan(agent_a, agent_b)
    for _n in range(extra_completes):
        plan.append(
            ([("answered", D2, "09:00")], "reached", "", (agent_a, "completed", D2, "09:00", 5))
        )
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                campaign=order,
                phone=f"+8613900{i:06d}",
                name=f"c{i + 1}",
                brand=BRANDS[i % 3],
                segment="young" if i % 2 else "family",
            )
            for i in range(len(plan))
        ]
    )
    rng = random.Random(11)
    completed_rows, completed_of = [], []
    for contact, (calls, status, reason, interview) in zip(contacts, plan, strict=True):
        if status is not None:
            DialState.objects.create(
                contact=contact,
                campaign=order,
                status=status,
                attempts=len(calls),
                last_outcome=calls[-1][0] if calls else "",
                excluded_reason=reason,
            )
        last = None
        for number, (outcome, day, hhmm) in enumerate(calls, start=1):
            last = CallAttempt.objects.create(
                campaign=order,
                contact=contact,
                number=number,
                to=contact.phone,
                caller_id="+8673110086",
                status=FINAL_STATUS[outcome],
                outcome=outcome,
                duration=60 if outcome == "answered" else None,
            )
            moment = at(day, hhmm)
            CallAttempt.objects.filter(pk=last.pk).update(
                created_at=moment, finished_at=moment + datetime.timedelta(minutes=1)
            )
        if interview is None:
            continue
        agent, disposition, day, hhmm, minutes = interview
        started = at(day, hhmm)
        ended = started + datetime.timedelta(minutes=minutes) if minutes else None
        if disposition == "completed":
            completed_rows.append((demo_answers(rng), agent, started))
            completed_of.append((contact, last, agent, ended))
            continue
        response_status = RESPONSE_STATUS.get(disposition, ResponseStatus.ABANDONED)
        response = Response.objects.create(
            version=version,
            status=response_status,
            started_at=started,
            finished_at=None if response_status == ResponseStatus.IN_PROGRESS else ended,
            created_by=agent,
        )
        _interview(order, contact, response, last, agent, disposition, started, ended)
    responses = bulk_interviews(version, completed_rows)
    for response, (contact, last, agent, ended) in zip(responses, completed_of, strict=True):
        Response.objects.filter(pk=response.pk).update(finished_at=ended)
        _interview(order, contact, response, last, agent, "completed", response.started_at, ended)
    return {contact.name: contact for contact in contacts}


def _interview(order, contact, response, attempt, agent, disposition, started, closed):
    interview = Interview.objects.create(
        campaign=order,
        contact=contact,
        response=response,
        agent=agent,
        attempt=attempt,
        disposition=disposition,
        closed_at=closed,
    )
    Interview.objects.filter(pk=interview.pk).update(started_at=started)
    return interview
