"""Completed interviews made directly, for the results and events tests."""

import datetime

from outbound.models import Contact, Interview, WorkOrder
from surveys.models import Answer, AnswerChoice, Question, QuestionType, Response


def with_questionnaire(campaign: WorkOrder, version) -> WorkOrder:
    WorkOrder.objects.filter(pk=campaign.pk).update(questionnaire=version)
    campaign.refresh_from_db()
    return campaign


def satisfaction_question(version) -> Question:
    return Question.objects.get(version=version, type=QuestionType.SCALE)


def interview_done(
    campaign: WorkOrder,
    phone: str,
    closed_at: datetime.datetime,
    satisfaction: int = 1,
    disposition=Interview.Disposition.COMPLETED,
) -> Interview:
    version = campaign.questionnaire
    contact, _ = Contact.objects.get_or_create(campaign=campaign, phone=phone)
    response = Response.objects.create(
        version=version, status="completed", started_at=closed_at, finished_at=closed_at
    )
    question = satisfaction_question(version)
    answer = Answer.objects.create(response=response, question=question, answered_at=closed_at)
    AnswerChoice.objects.create(
        answer=answer, question=question, choice=question.choices.get(code=satisfaction)
    )
    interview = Interview.objects.create(
        campaign=campaign,
        contact=contact,
        response=response,
        disposition=disposition,
        closed_at=closed_at,
    )
    return interview
