"""Completed interviews as the API gives them: answers with their codes and labels, read
in pages along a cursor of (closed_at, id)."""

import base64
import binascii
import datetime
import json
from collections import defaultdict

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from api.models import DissatisfiedChoice
from outbound.models import Interview
from surveys.models import Answer, AnswerChoice

COMPLETED = Interview.Disposition.COMPLETED


class BadCursor(ValueError):
    pass


def cursor_encode(closed_at: datetime.datetime, pk: int) -> str:
    raw = json.dumps([closed_at.isoformat(), pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(token: str) -> tuple[datetime.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        stamp, pk = json.loads(raw)
        return datetime.datetime.fromisoformat(stamp), int(pk)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as error:
        raise BadCursor(token) from error


def completed_page(*, campaign, after: str | None, limit: int, now=None):
    """Up to `limit` completed interviews of `campaign` after the cursor, the oldest first,
    and the cursor to read on from. An interview closed in the last
    WAIHU_API_RESULTS_SETTLE_SECONDS is left for the next read: a transaction still open
    could yet commit one closed a moment earlier, and it must not be skipped."""
    now = now or timezone.now()
    settled = now - datetime.timedelta(seconds=settings.WAIHU_API_RESULTS_SETTLE_SECONDS)
    rows = Interview.objects.filter(
        campaign=campaign, disposition=COMPLETED, closed_at__lte=settled
    )
    if after:
        closed_at, pk = cursor_decode(after)
        rows = rows.filter(Q(closed_at__gt=closed_at) | Q(closed_at=closed_at, pk__gt=pk))
    rows = rows.order_by("closed_at", "pk")
    page = list(
        rows.values(
            "pk",
            "closed_at",
            "channel",
            "response_id",
            "contact_id",
            "contact__phone",
            "contact__name",
            "contact__attributes",
        )[:limit]
    )
    if not page:
        return [], after
    cursor = cursor_encode(page[-1]["closed_at"], page[-1]["pk"])
    # The page's responses as a subquery: thousands of ids as parameters cost more to send
    # than the database takes to find the page again.
    return interviews_payload(page, rows.values("response_id")[:limit]), cursor


def interviews_payload(rows: list[dict], responses=None) -> list[dict]:
    """The interviews as the API gives them; `responses` may name their responses as a
    query instead of the list of ids."""
    answers = answers_by_response(
        [row["response_id"] for row in rows] if responses is None else responses
    )
    return [
        {
            "id": row["pk"],
            "closed_at": row["closed_at"],
            "channel": row["channel"],
            "contact": {
                "id": row["contact_id"],
                "phone": row["contact__phone"],
                "name": row["contact__name"],
                "attributes": row["contact__attributes"] or {},
            },
            "answers": answers.get(row["response_id"], []),
        }
        for row in rows
    ]


def answers_by_response(response_ids) -> dict[int, list[dict]]:
    """Every answer of the responses (ids, or a query of them): question code, the number
    or text, the special answer, and the choices taken with code and label. Two queries
    whatever the count."""
    if isinstance(response_ids, list) and not response_ids:
        return {}
    answers = list(
        Answer.objects.filter(response_id__in=response_ids)
        .order_by("response_id", "question__position")
        .values_list(
            "pk", "response_id", "question__code", "question__type", "number", "text", "special"
        )
    )
    chosen: dict[int, list[dict]] = defaultdict(list)
    for answer_id, code, label, specify in (
        AnswerChoice.objects.filter(answer__response_id__in=response_ids)
        .order_by("answer_id", "choice__position")
        .values_list("answer_id", "choice__code", "choice__label", "specify_text")
    ):
        chosen[answer_id].append({"code": code, "label": label, "specify": specify or None})
    result: dict[int, list[dict]] = defaultdict(list)
    for pk, response_id, question, qtype, number, text, special in answers:
        result[response_id].append(
            {
                "question": question,
                "type": qtype,
                "choices": chosen.get(pk, []),
                "number": str(number) if number is not None else None,
                "text": text,
                "special": special,
            }
        )
    return result


def dissatisfied_answers(*, response_id: int) -> list[dict]:
    """The answers of the response that the questionnaire marks as dissatisfied."""
    marked = DissatisfiedChoice.objects.values("choice_id")
    return [
        {"question": question, "code": code, "label": label}
        for question, code, label in AnswerChoice.objects.filter(
            answer__response_id=response_id, choice_id__in=marked
        )
        .order_by("question__position")
        .values_list("question__code", "choice__code", "choice__label")
    ]
