"""Per-question tables of a set of interviews, computed with a constant number of GROUP BY
queries whatever the number of interviews, questions or answers.

The base of a question is the number of interviews that reached it (that have an answer row
for it). "Don't know" and "refused" are counted and shown as a share of the base, and left
out of the valid percentages, whose base is the number of real answers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from reports import stats
from reports.tallies import KeptCounts
from surveys.models import (
    Answer,
    AnswerChoice,
    Choice,
    Mode,
    Question,
    QuestionnaireVersion,
    QuestionType,
    Response,
    Special,
)

# The base of a multiple choice's "% of respondents": everyone asked the question (the
# customer's own reports divide by it, and it is the default), or those who ticked something.
BASE_ASKED = "asked"
BASE_ANSWERED = "answered"
BASES = (BASE_ASKED, BASE_ANSWERED)

CLOSED_TYPES = frozenset(
    {QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.SCALE, QuestionType.YES_NO}
)
SINGLE_CODED = frozenset({QuestionType.SINGLE, QuestionType.SCALE, QuestionType.YES_NO})
NUMERIC = frozenset({QuestionType.NUMBER, QuestionType.NPS})
# Histogram bars for number questions with many distinct values.
NUMBER_BINS = 10


@dataclass
class TableRow:
    label: str
    count: int
    percent: float | None
    code: int | Decimal | None = None
    # Multiple choice: the share of all selections, next to the share of respondents.
    percent_of_answers: float | None = None


@dataclass
class QuestionTable:
    question: Question
    asked: int = 0
    valid: int = 0
    dont_know: int = 0
    refused: int = 0
    rows: list[TableRow] = field(default_factory=list)
    mentions: int = 0
    summary: stats.Summary | None = None
    top_two: int | None = None
    promoters: int | None = None
    # A multiple choice's percentages are of `base` people: everyone asked or those who
    # answered (base_kind); other questions' are of the valid answers.
    base_kind: str = BASE_ANSWERED
    passives: int | None = None
    detractors: int | None = None

    @property
    def type(self) -> str:
        return self.question.type

    @property
    def base(self) -> int:
        """The number the percentages of the rows are of."""
        if self.type == QuestionType.MULTIPLE and self.base_kind == BASE_ASKED:
            return self.asked
        return self.valid

    @property
    def no_answer(self) -> int:
        return self.asked - self.valid - self.dont_know - self.refused

    @property
    def dont_know_percent(self) -> float | None:
        return stats.percent(self.dont_know, self.asked)

    @property
    def refused_percent(self) -> float | None:
        return stats.percent(self.refused, self.asked)

    @property
    def no_answer_percent(self) -> float | None:
        return stats.percent(self.no_answer, self.asked)

    @property
    def is_multiple(self) -> bool:
        return self.question.type == QuestionType.MULTIPLE

    @property
    def is_closed(self) -> bool:
        return self.question.type in CLOSED_TYPES

    @property
    def is_text(self) -> bool:
        return self.question.type == QuestionType.TEXT

    @property
    def top_two_percent(self) -> float | None:
        if self.top_two is None:
            return None
        return stats.percent(self.top_two, self.valid)

    @property
    def nps(self) -> float | None:
        if self.promoters is None:
            return None
        return stats.nps(self.promoters, self.detractors, self.valid)

    def share(self, count: int | None) -> float | None:
        return None if count is None else stats.percent(count, self.valid)

    @property
    def chart_rows(self) -> list[TableRow]:
        return self.rows


def version_questions(*, version: QuestionnaireVersion) -> list[Question]:
    """The questions that get a table (statements are only read out), with their choices:
    two queries."""
    return list(
        Question.objects.filter(version=version)
        .exclude(type=QuestionType.STATEMENT)
        .order_by("position")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("position")))
    )


def _response_ids(responses: QuerySet[Response]) -> QuerySet:
    return responses.order_by().values("pk")


# Up to this many left-out interviews are passed to the database as a list of ids.
EXCLUDED_AS_LIST = 5000


@dataclass
class _Scope:
    """How the interviews are picked out of a version's answers. When they are most of the
    version's interviews, each count is the count over all the version's answers (a plain
    GROUP BY of an indexed table) less the count over the few left out; otherwise the answers
    are joined to the interviews."""

    included: QuerySet
    excluded: QuerySet | list[int] | None = None

    @classmethod
    def of(cls, version: QuestionnaireVersion, responses: QuerySet[Response]) -> _Scope:
        ids = _response_ids(responses)
        everyone = Response.objects.filter(version=version).order_by()
        total = everyone.count()
        inside = responses.order_by().filter(version=version).count()
        if not total or inside * 2 < total:
            return cls(included=ids)
        if inside == total:
            return cls(included=ids, excluded=[])
        # NOT EXISTS, not NOT IN: PostgreSQL plans it as a hashed anti-join at any size,
        # where NOT IN (subquery) falls back to a rescan per row once the list outgrows
        # work_mem.
        inside_ids = responses.order_by().filter(pk=OuterRef("pk"))
        left_out = everyone.exclude(Exists(inside_ids)).values("pk")
        n = left_out.count()
        if n == 0:
            return cls(included=ids, excluded=[])
        if n <= EXCLUDED_AS_LIST:
            return cls(included=ids, excluded=list(left_out.values_list("pk", flat=True)))
        return cls(included=ids, excluded=left_out)

    def grouped(self, rows: QuerySet, path: str, keys: list[str], **counts) -> list[dict]:
        """GROUP BY keys with Count aggregates over the rows of the interviews in scope;
        `path` leads from the rows to their interview."""
        if self.excluded is None:
            query = rows.filter(**{f"{path}__in": self.included})
            return list(query.values(*keys).annotate(**counts).order_by())
        totals = {
            tuple(row[k] for k in keys): row
            for row in rows.values(*keys).annotate(**counts).order_by()
        }
        if isinstance(self.excluded, list) and not self.excluded:
            return list(totals.values())
        minus = rows.filter(**{f"{path}__in": self.excluded}).values(*keys).annotate(**counts)
        for row in minus.order_by():
            total = totals[tuple(row[k] for k in keys)]
            for name in counts:
                total[name] -= row[name]
        return [row for row in totals.values() if any(row[name] for name in counts)]


def question_tables(
    *,
    version: QuestionnaireVersion,
    responses: QuerySet[Response],
    questions: list[Question] | None = None,
    kept: KeptCounts | None = None,
    base: str = BASE_ASKED,
) -> list[QuestionTable]:
    """One table per question of the version (statements excepted), over the responses;
    from the version's kept counts when given (they must cover exactly those responses).
    A multiple choice's percentages are of everyone asked, or with `base` BASE_ANSWERED of
    those who ticked something."""
    questions = questions if questions is not None else version_questions(version=version)
    if not questions:
        return []
    base_kind = base if base in BASES else BASE_ASKED
    tables = {q.pk: QuestionTable(question=q, base_kind=base_kind) for q in questions}
    if kept is not None:
        bases = [
            {"question_id": q, "number": value or None, **figures}
            for (q, value), figures in kept.bases.items()
            if q in tables
        ]
        counts = kept.choices
        respondents_of = kept.picked
    else:
        bases, counts, respondents_of = _computed(version, responses, questions)

    # Every base and, by the number too, the distribution of the number questions.
    distributions: dict[int, list[tuple[Decimal, int]]] = defaultdict(list)
    for row in bases:
        table = tables[row["question_id"]]
        table.asked += row["asked"]
        table.dont_know += row["dk"]
        table.refused += row["refused"]
        if table.type in NUMERIC:
            table.valid += row["numbers"]
            if row["numbers"]:
                distributions[row["question_id"]].append((Decimal(row["number"]), row["numbers"]))
        elif table.type == QuestionType.TEXT:
            table.valid += row["texts"]
    # The base of a multiple choice is the number of people who chose something. A required
    # question of an agent-mode version is never left empty (the interview services refuse
    # it, and a published version is frozen), so there it is the answers that are neither
    # "don't know" nor "refused"; only optional questions and voice surveys, where a caller
    # may press nothing, need the count of distinct answers with a selection.
    respondents: dict[int, int] = {}
    for q in questions:
        if q.type != QuestionType.MULTIPLE:
            continue
        if _counts_respondents(version, q):
            respondents[q.pk] = respondents_of.get(q.pk, 0)
        else:
            t = tables[q.pk]
            respondents[q.pk] = max(t.asked - t.dont_know - t.refused, 0)
    for q in questions:
        table = tables[q.pk]
        if q.type in CLOSED_TYPES:
            _fill_closed(table, counts.get(q.pk, {}), respondents.get(q.pk))
        elif q.type in NUMERIC:
            _fill_numeric(table, distributions.get(q.pk, []))
    return [tables[q.pk] for q in questions]


def _counts_respondents(version: QuestionnaireVersion, question: Question) -> bool:
    return version.mode == Mode.VOICE or not question.required


def _computed(
    version: QuestionnaireVersion, responses: QuerySet[Response], questions: list[Question]
) -> tuple[list[dict], dict[int, dict[int, int]], dict[int, int]]:
    """The bases, the choice counts and the respondents of the multiple choices, by GROUP BY
    over the answers of the responses."""
    scope = _Scope.of(version, responses)
    bases = scope.grouped(
        Answer.objects.filter(question_id__in=[q.pk for q in questions]),
        "response",
        ["question_id", "number"],
        asked=Count("id"),
        dk=Count("id", filter=Q(special=Special.DONT_KNOW)),
        refused=Count("id", filter=Q(special=Special.REFUSED)),
        numbers=Count("number", filter=Q(special="")),
        texts=Count("id", filter=Q(special="") & ~Q(text="")),
    )
    closed = [q.pk for q in questions if q.type in CLOSED_TYPES]
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    if closed:
        rows = scope.grouped(
            AnswerChoice.objects.filter(question_id__in=closed),
            "answer__response",
            ["question_id", "choice_id"],
            n=Count("id"),
        )
        for row in rows:
            counts[row["question_id"]][row["choice_id"]] = row["n"]
    multiple = [
        q.pk
        for q in questions
        if q.type == QuestionType.MULTIPLE and _counts_respondents(version, q)
    ]
    respondents: dict[int, int] = {}
    if multiple:
        # Each answer belongs to one interview, so distinct answers add up across interviews.
        rows = scope.grouped(
            AnswerChoice.objects.filter(question_id__in=multiple),
            "answer__response",
            ["question_id"],
            n=Count("answer_id", distinct=True),
        )
        respondents.update({row["question_id"]: row["n"] for row in rows})
    return bases, counts, respondents


def _fill_closed(table: QuestionTable, counts: dict[int, int], respondents: int | None) -> None:
    q = table.question
    choices = list(q.choices.all())
    mentions = sum(counts.values())
    table.mentions = mentions
    if q.type == QuestionType.MULTIPLE:
        table.valid = respondents or 0
    else:
        table.valid = mentions
    for choice in choices:
        n = counts.get(choice.pk, 0)
        row = TableRow(
            label=choice.label or str(choice.code),
            code=choice.code,
            count=n,
            percent=stats.percent(n, table.base),
        )
        if q.type == QuestionType.MULTIPLE:
            row.percent_of_answers = stats.percent(n, mentions)
        table.rows.append(row)
    if q.type == QuestionType.SCALE:
        table.summary = stats.summarize(
            (choice.code, counts.get(choice.pk, 0)) for choice in choices
        )
        # Scales are written best first (非常满意 … 非常差), so the top two boxes are the
        # first two choices.
        table.top_two = sum(counts.get(choice.pk, 0) for choice in choices[:2])


def _fill_numeric(table: QuestionTable, distribution: list[tuple[Decimal, int]]) -> None:
    table.summary = stats.summarize(distribution)
    table.valid = table.summary.n
    if table.type == QuestionType.NPS:
        by_score: dict[int, int] = defaultdict(int)
        for value, n in distribution:
            by_score[int(value)] += n
        table.rows = [
            TableRow(
                label=str(score),
                code=score,
                count=by_score.get(score, 0),
                percent=stats.percent(by_score.get(score, 0), table.valid),
            )
            for score in range(11)
        ]
        table.promoters = sum(n for v, n in distribution if v >= 9)
        table.passives = sum(n for v, n in distribution if 7 <= v < 9)
        table.detractors = sum(n for v, n in distribution if v < 7)
        return
    table.rows = number_bins(distribution, table.valid)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def number_bins(distribution: list[tuple[Decimal, int]], base: int) -> list[TableRow]:
    """Bars for a number question: one per value when there are few, else equal-width bins
    (each holds its lower bound; the last also its upper bound)."""
    values = sorted(distribution)
    if not values:
        return []
    if len(values) <= NUMBER_BINS + 1:
        return [
            TableRow(label=_plain(v), code=v, count=n, percent=stats.percent(n, base))
            for v, n in values
        ]
    low, high = values[0][0], values[-1][0]
    width = (high - low) / NUMBER_BINS
    bins = [0] * NUMBER_BINS
    for v, n in values:
        index = min(int((v - low) / width), NUMBER_BINS - 1)
        bins[index] += n
    rows = []
    for i, n in enumerate(bins):
        start = low + width * i
        end = low + width * (i + 1)
        label = f"{_plain(start.quantize(Decimal('0.01')))}–{_plain(end.quantize(Decimal('0.01')))}"
        rows.append(TableRow(label=label, code=start, count=n, percent=stats.percent(n, base)))
    return rows


def open_answers(*, question: Question, responses: QuerySet[Response]) -> QuerySet:
    """The open answers of a question, newest interview first, as a queryset to paginate:
    those written, and those spoken on a voice survey with no transcript (the recording is
    the answer)."""
    from outbound.models import SpokenAnswer

    recorded = SpokenAnswer.objects.filter(
        question_id=OuterRef("question_id"), interview__response_id=OuterRef("response_id")
    ).exclude(recording_sid="")
    return (
        Answer.objects.filter(question=question, response__in=_response_ids(responses), special="")
        .filter(~Q(text="") | Exists(recorded))
        .select_related("response")
        .order_by("-response__started_at", "-response_id")
    )


def specified_answers(*, question: Question, responses: QuerySet[Response]) -> QuerySet:
    """The texts given with "other, please specify" choices of a question."""
    return (
        AnswerChoice.objects.filter(
            question=question, answer__response__in=_response_ids(responses)
        )
        .exclude(specify_text="")
        .select_related("choice", "answer")
        .order_by("answer__response_id", "choice__position")
    )
