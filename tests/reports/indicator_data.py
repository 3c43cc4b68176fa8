"""Hand-made campaign interviews for the satisfaction index over time: each interview has
a contact (brand, region), a campaign (its kind) and the choices picked on the rating
scales, stored as the interview services store them."""

from __future__ import annotations

import datetime

from django.utils import timezone

from outbound.models import Contact, Interview, WorkOrder
from reports.models import Indicator, IndicatorQuestion
from surveys import services
from surveys.models import Answer, AnswerChoice, Choice, QuestionType, Response, ResponseStatus
from tests.factories import make_order


def questionnaire(name: str = "Index survey", scales: int = 3):
    """A version with `scales` five-point satisfaction scales S1… (best answer first)."""
    version = services.questionnaire_create(name=name)
    for i in range(scales):
        services.question_add(
            version=version,
            type=QuestionType.SCALE,
            code=f"S{i + 1}",
            text=f"How satisfied are you with item {i + 1}?",
            allow_dont_know=True,
        )
    return version


def leaf(code: str, parent_code: str, *questions, best_first: bool = True, target=None):
    parent = Indicator.objects.get(code=parent_code)
    indicator = Indicator.objects.create(
        code=code, name=code.title(), level=3, parent=parent, target=target
    )
    for q in questions:
        IndicatorQuestion.objects.create(indicator=indicator, question=q, best_first=best_first)
    return indicator


def campaign(requester, version, kind=WorkOrder.Kind.SATISFACTION) -> WorkOrder:
    order = make_order(requester, kind=kind)
    WorkOrder.objects.filter(pk=order.pk).update(
        questionnaire=version, run_status=WorkOrder.RunStatus.READY
    )
    order.refresh_from_db()
    return order


def moment(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=timezone.get_current_timezone()
    )


_serial = [0]


def interviews(order: WorkOrder, rows) -> list[Response]:
    """rows: (brand, region, finished at, {question code: choice code, or None for don't
    know}, count) — `count` alike interviews each."""
    version = order.questionnaire
    questions = {q.code: q for q in version.questions.all()}
    choices = {
        (c.question_id, c.code): c.pk for c in Choice.objects.filter(question__version=version)
    }
    made = []
    for brand, region, finished, answers, count in rows:
        for _ in range(count):
            _serial[0] += 1
            contact = Contact.objects.create(
                campaign=order, phone=f"+86139{_serial[0]:08d}", brand=brand, region=region
            )
            response = Response.objects.create(
                version=version,
                status=ResponseStatus.COMPLETED,
                started_at=finished - datetime.timedelta(minutes=5),
                finished_at=finished,
            )
            for code, picked in answers.items():
                q = questions[code]
                answer = Answer.objects.create(
                    response=response,
                    question=q,
                    special="" if picked is not None else "dk",
                    answered_at=finished,
                )
                if picked is not None:
                    AnswerChoice.objects.create(
                        answer=answer, question=q, choice_id=choices[q.pk, picked]
                    )
            Interview.objects.create(
                campaign=order,
                contact=contact,
                response=response,
                disposition=Interview.Disposition.COMPLETED,
                closed_at=finished,
            )
            made.append(response)
    return made
