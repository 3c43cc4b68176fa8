"""Interviews for the reports tests, taken through the surveys services, and the known
answer set for the demo questionnaire."""

import datetime
import random
from decimal import Decimal

import time_machine
from django.utils import timezone

from surveys import services
from surveys.engine import AnswerValue
from surveys.models import (
    Answer,
    AnswerChoice,
    Choice,
    Question,
    QuestionnaireVersion,
    Response,
    ResponseStatus,
)


def value(spec) -> AnswerValue:
    """An answer from a plain spec: an int is one choice code, a set several codes, a
    Decimal a number, a str a text, "dk"/"refused" the special answers, None nothing."""
    if isinstance(spec, AnswerValue):
        return spec
    if spec is None:
        return AnswerValue.missing()
    if spec == "dk":
        return AnswerValue.dont_know()
    if spec == "refused":
        return AnswerValue.refused()
    if isinstance(spec, Decimal):
        return AnswerValue.of_number(spec)
    if isinstance(spec, int):
        return AnswerValue.of_choices(spec)
    if isinstance(spec, (set, frozenset, tuple)):
        return AnswerValue.of_choices(*spec)
    return AnswerValue.of_text(spec)


def interview(
    version: QuestionnaireVersion,
    answers: dict[str, object],
    *,
    agent=None,
    at: datetime.datetime | None = None,
    finish: bool = False,
) -> Response:
    """Answer the questions on the interview's path from `answers` (by code), in order,
    until the walk ends or an answer is missing from the dict (then partial if `finish`)."""
    questions = {q.code: q for q in Question.objects.filter(version=version)}
    with time_machine.travel(at or timezone.now(), tick=False):
        response = services.response_start(version=version, created_by=agent)
        while response.current_question_id is not None:
            code = response.current_question.code
            if code not in answers:
                break
            services.response_answer(
                response=response, question=questions[code], value=value(answers[code])
            )
            response.refresh_from_db()
        if finish and response.status == "in_progress":
            services.response_finish(response=response)
    response.refresh_from_db()
    return response


SUGGESTIONS = [
    "希望信号更好",
    '=HYPERLINK("http://x")',
    "+86 138 1234 5678 请回电",
    "@everyone 资费太贵",
    "-减少营销短信",
    "",
]


def demo_answers(rng: random.Random) -> dict[str, object]:
    """One plausible set of answers to the demo questionnaire."""
    q6 = {9} if rng.random() < 0.2 else set(rng.sample([1, 2, 3, 4, 5], rng.randint(1, 3)))
    answers: dict[str, object] = {
        "Q1": rng.choice([1, 2]),
        "Q2": rng.choice([2, 3, 3, 4, "refused"]),
        "Q3": rng.choice([1, 2, 3, 3, 3, 4]),
        "Q4": rng.choice([1, 2, 3, 4, "refused"]),
        "Q5": rng.choice([1, 1, 2, 3, 4]),
        "Q6": q6,
        "Q7": rng.choice([1, 2, 3, 4, 5]),
        "Q8": set(rng.sample([1, 2, 3, 4, 5, 6], rng.randint(1, 4))),
        "Q9": rng.choice([1, 1, 2, 2, 2, 3, 4, 5]),
        "Q10": rng.choice([1, 2, 2, 3, 4, "dk"]),
        "Q11": rng.choice([1, 1, 2, 3, 4]),
        "Q12": rng.choice([1, 2, 2, 3, 4]),
        "Q13": rng.choice([1, 2, 3, 3, 4]),
        "Q14": set(rng.sample([1, 2, 3, 4, 5, 6, 7], rng.randint(1, 3))),
        "Q15": rng.choice(SUGGESTIONS),
    }
    if answers["Q5"] == 4:
        answers["Q5"] = AnswerValue.of_choices(4, specify={4: "微信公众号"})
    if 9 in q6:
        del answers["Q7"]
    return answers


def bulk_interviews(
    version: QuestionnaireVersion,
    rows: list[tuple[dict[str, object], object, datetime.datetime]],
    *,
    status: str = ResponseStatus.COMPLETED,
) -> list[Response]:
    """Store finished interviews as the interview services store them (a response, one
    answer per question on the path, one selected-choice row per chosen code), in bulk:
    (answers by code, agent, started at) per interview. The answers must follow a path the
    questionnaire allows; the engine is exercised by `interview`."""
    questions = {q.code: q for q in Question.objects.filter(version=version)}
    choices = {
        (c.question_id, c.code): c.pk for c in Choice.objects.filter(question__version=version)
    }
    responses = Response.objects.bulk_create(
        [
            Response(
                version=version,
                status=status,
                started_at=at,
                finished_at=at + datetime.timedelta(minutes=4),
                created_by=agent,
                reference=f"R{i:05d}",
            )
            for i, (_answers, agent, at) in enumerate(rows)
        ]
    )
    answers, selected = [], []
    for response, (given, _agent, at) in zip(responses, rows, strict=True):
        for code, spec in given.items():
            q = questions[code]
            v = value(spec)
            answer = Answer(
                response=response,
                question=q,
                number=v.number,
                text=v.text,
                special=v.special,
                answered_at=at,
            )
            answers.append(answer)
            for choice_code in sorted(v.choices):
                selected.append(
                    (answer, q, choices[q.pk, choice_code], v.specify_text(choice_code))
                )
    Answer.objects.bulk_create(answers, batch_size=500)
    AnswerChoice.objects.bulk_create(
        [
            AnswerChoice(answer=a, question=q, choice_id=c, specify_text=t)
            for a, q, c, t in selected
        ],
        batch_size=500,
    )
    return responses


def demo_dataset(version: QuestionnaireVersion, *, count: int, seed: int = 7, agents=()):
    """`count` completed interviews of the demo over ten days, plus one screened out (under
    18) and one partial taken through the services; returns the completed answer dicts."""
    rng = random.Random(seed)
    start = timezone.make_aware(datetime.datetime(2026, 3, 1, 10, 0))
    taken, rows = [], []
    for i in range(count):
        answers = demo_answers(rng)
        agent = agents[i % len(agents)] if agents else None
        rows.append((answers, agent, start + datetime.timedelta(days=i % 10)))
        taken.append(answers)
    bulk_interviews(version, rows)
    interview(version, {"Q1": 1, "Q2": 1}, at=start)
    interview(version, {"Q1": 2, "Q2": 3, "Q3": 1}, at=start, finish=True)
    return taken
