"""Kept counts of a questionnaire version's interviews, so that its results pages do not
recount every answer on every view.

What is kept. An interview in status s contributes to the counts a multiset of keys:
one (s, response); per answer to question q, (s, answer, q, special, number, text given);
per selected choice c of q, (s, choice, q, c); per answer with a selection, (s, picked, q).
The kept counts of a version are the sum of the contributions of its interviews, and each
figure of a per-question table is a sum of them over the statuses a page covers (the same
GROUP BYs that tables.py runs over the answers, summed in advance).

Why it stays exact. The interviews change only through the surveys services, each in one
transaction holding the response's row lock; they call `response_changing` before a change
and its result after it. Here that takes the response's contribution before and after and
adds the difference, in the same transaction, so at every commit the counts are the sum of
the contributions of the committed interviews. The counts start from a rebuild that
recounts everything (`tallies_rebuild`); a change share-locks the version's TallyScope row
first, and the rebuild locks it alone, so a change either commits before the rebuild counts
or starts after it has committed. Until a version has been rebuilt, its pages compute.

Rows are upserted in key order, so two interviews saved at once take their row locks in the
same order and cannot deadlock each other."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, Count, Q, Value, When
from django.utils import timezone

from reports import hooks
from reports.models import Tally, TallyKind, TallyScope
from surveys.models import (
    Answer,
    AnswerChoice,
    QuestionnaireVersion,
    Response,
    ResponseStatus,
)

# (status, kind, question id, choice id, special, value, texted, other question, other choice)
Key = tuple[str, str, int, int, str, str, bool, int, int]

# Cross counts are kept for finished interviews: an interview in progress changes with
# every answer, and a pair count would be rewritten each time for nothing a page shows.
CROSSED = tuple(s for s in ResponseStatus.values if s != ResponseStatus.IN_PROGRESS)
# Contact attribute values are kept to this length (the contacts' own limit).
ATTRIBUTE_LENGTH = 100


def number_key(number: Decimal | None) -> str:
    if number is None:
        return ""
    return format(Decimal(number).normalize(), "f")


def _key(status, kind, question_id=0, choice_id=0, special="", value="", texted=False, oq=0, oc=0):
    return (status, kind, question_id, choice_id, special, value, texted, oq, oc)


def _crossed(found: Counter, status: str, selections: list[tuple[int, int]]) -> None:
    """The pair keys of one finished interview: its selections (question, choice) two by
    two, each selection beside every other question answered, and the answered questions
    two by two."""
    chosen = sorted(set(selections))
    answered = sorted({q for q, _c in chosen})
    for i, (q1, c1) in enumerate(chosen):
        for q2, c2 in chosen[i + 1 :]:
            if q2 != q1:
                found[_key(status, TallyKind.PAIR, q1, c1, oq=q2, oc=c2)] += 1
        for q2 in answered:
            if q2 != q1:
                found[_key(status, TallyKind.WITH, q1, c1, oq=q2)] += 1
    for i, q1 in enumerate(answered):
        for q2 in answered[i + 1 :]:
            found[_key(status, TallyKind.BOTH, q1, oq=q2)] += 1


def _by_attributes(
    found: Counter,
    status: str,
    attributes: dict[str, str] | None,
    selections: list[tuple[int, int]],
) -> None:
    """The attribute keys of one finished interview; `attributes` is None when it has no
    contact, which counts its selections as unknown but the interview among no one."""
    answered = {q for q, _c in selections}
    for name in hooks.ATTRIBUTES:
        value = (attributes or {}).get(name, "")[:ATTRIBUTE_LENGTH]
        if attributes is not None:
            found[_key(status, TallyKind.PEOPLE, special=name, value=value)] += 1
        for q, c in selections:
            found[_key(status, TallyKind.ATTR_CHOICE, q, c, special=name, value=value)] += 1
        for q in answered:
            found[_key(status, TallyKind.ATTR_PICKED, q, special=name, value=value)] += 1


def _attributes_of(response_id: int) -> dict[str, str] | None:
    mapping = hooks.contact_attributes(Response.objects.filter(pk=response_id)) or {}
    return mapping.get(response_id)


def _contribution(response_id: int) -> Counter:
    """The keys one interview adds to its version's counts, as it stands in the database."""
    status = Response.objects.filter(pk=response_id).values_list("status", flat=True).first()
    found: Counter = Counter()
    if status is None:
        return found
    found[_key(status, TallyKind.RESPONSE)] += 1
    answers = Answer.objects.filter(response_id=response_id).values_list(
        "question_id", "special", "number", "text"
    )
    for question_id, special, number, text in answers:
        value = number_key(number)
        found[_key(status, TallyKind.ANSWER, question_id, 0, special, value, text != "")] += 1
    picked = set()
    selections = AnswerChoice.objects.filter(answer__response_id=response_id).values_list(
        "answer_id", "question_id", "choice_id"
    )
    pairs = []
    for answer_id, question_id, choice_id in selections:
        found[_key(status, TallyKind.CHOICE, question_id, choice_id)] += 1
        pairs.append((question_id, choice_id))
        if answer_id not in picked:
            picked.add(answer_id)
            found[_key(status, TallyKind.PICKED, question_id)] += 1
    if status in CROSSED:
        _crossed(found, status, pairs)
        if hooks.attributes_fixed():
            _by_attributes(found, status, _attributes_of(response_id), pairs)
    return found


# Rows upserted by one statement: a finished interview of a long questionnaire changes
# thousands of pair keys, and SQLite takes at most 32,766 parameters a statement.
UPSERT_ROWS = 500


def _apply(version_id: int, delta: dict[Key, int]) -> None:
    rows = sorted((key, n) for key, n in delta.items() if n)
    table = Tally._meta.db_table
    columns = ", ".join(Tally.KEY)
    marks = "(" + ", ".join(["%s"] * (len(Tally.KEY) + 1)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPSERT_ROWS):
            chunk = rows[start : start + UPSERT_ROWS]
            params: list = []
            for key, n in chunk:
                params += [version_id, *key, n]
            cursor.execute(
                f"INSERT INTO {table} ({columns}, n) VALUES {', '.join([marks] * len(chunk))} "  # noqa: S608
                f"ON CONFLICT ({columns}) DO UPDATE SET n = {table}.n + excluded.n",
                params,
            )


def _scope_share(version_id: int) -> bool:
    """Share-lock the version's TallyScope row (creating it, not ready, if missing) and say
    whether its counts are kept."""
    table = TallyScope._meta.db_table
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (version_id, ready) VALUES (%s, %s) "  # noqa: S608
            "ON CONFLICT (version_id) DO NOTHING",
            [version_id, False],
        )
        cursor.execute(f"SELECT ready FROM {table} WHERE version_id = %s{lock}", [version_id])  # noqa: S608
        return bool(cursor.fetchone()[0])


def _nothing(_response_id: int) -> None:
    return None


def response_observer(version_id: int, response_id: int | None) -> Callable[[int], None]:
    """Registered with surveys: keeps the counts of ready versions as interviews change."""
    if not _scope_share(version_id):
        return _nothing
    before = _contribution(response_id) if response_id is not None else Counter()

    def after(changed_id: int) -> None:
        now = _contribution(changed_id)
        _apply(version_id, {key: now[key] - before[key] for key in before.keys() | now.keys()})

    return after


def _recount(version_id: int) -> Counter:
    """Every key of the version's interviews, by GROUP BY over them."""
    found: Counter = Counter()
    responses = Response.objects.filter(version_id=version_id).order_by()
    for row in responses.values("status").annotate(n=Count("id")):
        found[_key(row["status"], TallyKind.RESPONSE)] += row["n"]
    answers = (
        Answer.objects.filter(response__version_id=version_id)
        .order_by()
        .values(
            "response__status",
            "question_id",
            "special",
            "number",
            texted=Case(When(~Q(text=""), then=Value(True)), default=Value(False)),
        )
        .annotate(n=Count("id"))
    )
    for row in answers:
        key = _key(
            row["response__status"],
            TallyKind.ANSWER,
            row["question_id"],
            0,
            row["special"],
            number_key(row["number"]),
            bool(row["texted"]),
        )
        found[key] += row["n"]
    selections = AnswerChoice.objects.filter(answer__response__version_id=version_id).order_by()
    for row in selections.values("answer__response__status", "question_id", "choice_id").annotate(
        n=Count("id")
    ):
        status = row["answer__response__status"]
        found[_key(status, TallyKind.CHOICE, row["question_id"], row["choice_id"])] += row["n"]
    for row in selections.values("answer__response__status", "question_id").annotate(
        n=Count("answer_id", distinct=True)
    ):
        status = row["answer__response__status"]
        found[_key(status, TallyKind.PICKED, row["question_id"])] += row["n"]
    _recount_crossed(version_id, found)
    _recount_attributes(version_id, found)
    return found


def _selected_sql() -> str:
    """The finished interviews' selections (response, status, question, choice) of a
    version, as a CTE named `sel` taking the version id and the statuses as parameters."""
    marks = ", ".join(["%s"] * len(CROSSED))
    return (
        "WITH sel AS (SELECT DISTINCT a.response_id, r.status, c.question_id, c.choice_id "  # noqa: S608
        f"FROM {AnswerChoice._meta.db_table} c "
        f"JOIN {Answer._meta.db_table} a ON a.id = c.answer_id "
        f"JOIN {Response._meta.db_table} r ON r.id = a.response_id "
        f"WHERE r.version_id = %s AND r.status IN ({marks}))"
    )


def _recount_crossed(version_id: int, found: Counter) -> None:
    params = [version_id, *CROSSED]
    picked = "qs AS (SELECT DISTINCT response_id, status, question_id FROM sel)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_selected_sql()} SELECT s1.status, s1.question_id, s1.choice_id, "  # noqa: S608
            "s2.question_id, s2.choice_id, COUNT(*) FROM sel s1 JOIN sel s2 "
            "ON s2.response_id = s1.response_id AND s2.question_id > s1.question_id "
            "GROUP BY s1.status, s1.question_id, s1.choice_id, s2.question_id, s2.choice_id",
            params,
        )
        for status, q1, c1, q2, c2, n in cursor.fetchall():
            found[_key(status, TallyKind.PAIR, q1, c1, oq=q2, oc=c2)] += n
        cursor.execute(
            f"{_selected_sql()}, {picked} SELECT s.status, s.question_id, s.choice_id, "  # noqa: S608
            "p.question_id, COUNT(*) FROM sel s JOIN qs p "
            "ON p.response_id = s.response_id AND p.question_id <> s.question_id "
            "GROUP BY s.status, s.question_id, s.choice_id, p.question_id",
            params,
        )
        for status, q1, c1, q2, n in cursor.fetchall():
            found[_key(status, TallyKind.WITH, q1, c1, oq=q2)] += n
        cursor.execute(
            f"{_selected_sql()}, {picked} SELECT p1.status, p1.question_id, p2.question_id, "  # noqa: S608
            "COUNT(*) FROM qs p1 JOIN qs p2 "
            "ON p2.response_id = p1.response_id AND p2.question_id > p1.question_id "
            "GROUP BY p1.status, p1.question_id, p2.question_id",
            params,
        )
        for status, q1, q2, n in cursor.fetchall():
            found[_key(status, TallyKind.BOTH, q1, oq=q2)] += n


def _recount_attributes(version_id: int, found: Counter) -> None:
    """The counts by contact attribute: the attributes come from the registered source (in
    one pass over the finished interviews), the selections stream past once."""
    if not hooks.attributes_fixed():
        return
    finished = Response.objects.filter(version_id=version_id, status__in=CROSSED).order_by()
    mapping = hooks.contact_attributes(finished) or {}
    names = list(hooks.ATTRIBUTES)

    def values_of(response_id: int) -> list[str]:
        attributes = mapping.get(response_id, {})
        return [attributes.get(name, "")[:ATTRIBUTE_LENGTH] for name in names]

    for response_id, status in finished.values_list("pk", "status").iterator(chunk_size=5000):
        if response_id not in mapping:
            continue
        for name, value in zip(names, values_of(response_id), strict=True):
            found[_key(status, TallyKind.PEOPLE, special=name, value=value)] += 1
    chosen: Counter = Counter()
    answered: Counter = Counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_selected_sql()} SELECT response_id, status, question_id, choice_id FROM sel "  # noqa: S608
            "ORDER BY response_id",
            [version_id, *CROSSED],
        )
        current, seen = None, set()
        while rows := cursor.fetchmany(5000):
            for response_id, status, q, c in rows:
                if response_id != current:
                    current, seen = response_id, set()
                values = tuple(values_of(response_id))
                chosen[status, q, c, values] += 1
                if q not in seen:
                    seen.add(q)
                    answered[status, q, values] += 1
    for (status, q, c, values), n in chosen.items():
        for name, value in zip(names, values, strict=True):
            found[_key(status, TallyKind.ATTR_CHOICE, q, c, special=name, value=value)] += n
    for (status, q, values), n in answered.items():
        for name, value in zip(names, values, strict=True):
            found[_key(status, TallyKind.ATTR_PICKED, q, special=name, value=value)] += n


def tallies_rebuild(*, version: QuestionnaireVersion) -> int:
    """Count the version's interviews afresh and keep the counts from now on; returns the
    number of kept rows. Changes to its interviews wait while it runs."""
    with transaction.atomic():
        TallyScope.objects.get_or_create(version_id=version.pk)
        TallyScope.objects.select_for_update().get(version_id=version.pk)
        Tally.objects.filter(version_id=version.pk).delete()
        counts = _recount(version.pk)
        Tally.objects.bulk_create(
            [
                Tally(version_id=version.pk, n=n, **dict(zip(Tally.KEY[1:], key, strict=True)))
                for key, n in sorted(counts.items())
                if n
            ],
            batch_size=1000,
        )
        TallyScope.objects.filter(version_id=version.pk).update(ready=True, built_at=timezone.now())
    return len(counts)


# A request older than this whose build never finished (a worker lost) is made again.
REQUEST_AGAIN_AFTER = datetime.timedelta(hours=1)


def tallies_request(*, version: QuestionnaireVersion) -> bool:
    """Queue the building of a version's kept counts unless they are kept or already asked
    for; True when they are being built."""
    now = timezone.now()
    TallyScope.objects.get_or_create(version_id=version.pk)
    asked = (
        TallyScope.objects.filter(version_id=version.pk, ready=False)
        .filter(Q(requested_at__isnull=True) | Q(requested_at__lt=now - REQUEST_AGAIN_AFTER))
        .update(requested_at=now)
    )
    if asked:
        from reports.tasks import tallies_rebuild_task

        transaction.on_commit(lambda: tallies_rebuild_task.delay(version.pk))
    return TallyScope.objects.filter(version_id=version.pk, ready=False).exists()


def kept_rows(*, version: QuestionnaireVersion) -> Counter:
    """All the kept counts of a version by key (for comparing with a recount)."""
    return Counter(
        {
            row[:-1]: row[-1]
            for row in Tally.objects.filter(version=version)
            .exclude(n=0)
            .values_list(*Tally.KEY[1:], "n")
        }
    )


def recounted_rows(*, version: QuestionnaireVersion) -> Counter:
    return +_recount(version.pk)


ROW_FIELDS = ("status", "kind", "question_id", "choice_id", "special", "value", "texted", "n")
BASE_KINDS = (TallyKind.RESPONSE, TallyKind.ANSWER, TallyKind.CHOICE, TallyKind.PICKED)
BASE_FIGURES = ("asked", "dk", "refused", "numbers", "texts")


@dataclass
class Pairs:
    """The kept cross counts of two questions: the selections of both in one interview,
    each one's selections beside the other answered, and the interviews that answered both."""

    cells: dict[tuple[int, int], int]  # (row choice, column choice) -> pairs
    row_with: dict[int, int]  # row choice -> interviews that also answered the column
    column_with: dict[int, int]  # column choice -> interviews that also answered the row
    both: int


@dataclass
class ByAttribute:
    """The kept counts of a question by the values of a contact attribute ("" unknown)."""

    people: dict[str, int]  # value -> finished interviews
    cells: dict[tuple[int, str], int]  # (choice, value) -> selections
    answered: dict[str, int]  # value -> interviews with a selection


@dataclass
class KeptCounts:
    """The kept counts of a version over a set of statuses, as the tables read them."""

    responses: dict[str, int] = field(default_factory=dict)  # status -> interviews
    # (question, value) -> {asked, dk, refused, numbers, texts}
    bases: dict[tuple[int, str], dict[str, int]] = field(default_factory=dict)
    choices: dict[int, dict[int, int]] = field(default_factory=dict)
    picked: dict[int, int] = field(default_factory=dict)
    built_at: object = None
    rows: list[tuple] = field(default_factory=list, repr=False)
    version_id: int = 0
    statuses: tuple = ()

    def over(self, statuses: Iterable[str]) -> KeptCounts:
        """The same counts, of the interviews in these statuses only."""
        wanted = tuple(statuses)
        kept = _summed([row for row in self.rows if row[0] in wanted], self.built_at)
        kept.version_id, kept.statuses = self.version_id, wanted
        return kept

    @property
    def crossed(self) -> bool:
        """Whether cross counts are kept for every status these counts cover."""
        return bool(self.statuses) and all(s in CROSSED for s in self.statuses)

    @property
    def by_attribute(self) -> bool:
        return self.crossed and hooks.attributes_fixed()

    def _cross_rows(self, **lookups):
        return Tally.objects.filter(
            version_id=self.version_id, status__in=self.statuses, **lookups
        ).exclude(n=0)

    def pairs(self, row: int, column: int) -> Pairs:
        """The cross counts of two different questions, in one query."""
        low, high = sorted((row, column))
        rows = self._cross_rows(
            kind__in=(TallyKind.PAIR, TallyKind.WITH, TallyKind.BOTH),
            question_id__in=(low, high),
            other_question_id__in=(low, high),
        ).values_list("kind", "question_id", "choice_id", "other_choice_id", "n")
        found = Pairs(cells={}, row_with={}, column_with={}, both=0)
        for kind, question_id, choice_id, other_choice_id, n in rows:
            if kind == TallyKind.PAIR:
                key = (
                    (choice_id, other_choice_id)
                    if question_id == row
                    else (
                        other_choice_id,
                        choice_id,
                    )
                )
                found.cells[key] = found.cells.get(key, 0) + n
            elif kind == TallyKind.WITH:
                into = found.row_with if question_id == row else found.column_with
                into[choice_id] = into.get(choice_id, 0) + n
            else:
                found.both += n
        return found

    def attribute(self, name: str, question_id: int) -> ByAttribute:
        """A question's kept counts by one contact attribute, in one query."""
        rows = self._cross_rows(special=name).filter(
            Q(kind=TallyKind.PEOPLE)
            | Q(kind__in=(TallyKind.ATTR_CHOICE, TallyKind.ATTR_PICKED), question_id=question_id)
        )
        found = ByAttribute(people={}, cells={}, answered={})
        for kind, choice_id, value, n in rows.values_list("kind", "choice_id", "value", "n"):
            if kind == TallyKind.PEOPLE:
                found.people[value] = found.people.get(value, 0) + n
            elif kind == TallyKind.ATTR_CHOICE:
                found.cells[choice_id, value] = found.cells.get((choice_id, value), 0) + n
            else:
                found.answered[value] = found.answered.get(value, 0) + n
        return found

    def attribute_choices(self, name: str, question_ids: list[int]) -> ByAttribute:
        """Several questions' selections by one attribute, and the interviews by its values
        (the index's brand weights), in one query; cells are keyed (choice, value)."""
        rows = self._cross_rows(special=name).filter(
            Q(kind=TallyKind.PEOPLE) | Q(kind=TallyKind.ATTR_CHOICE, question_id__in=question_ids)
        )
        found = ByAttribute(people={}, cells={}, answered={})
        for kind, choice_id, value, n in rows.values_list("kind", "choice_id", "value", "n"):
            if kind == TallyKind.PEOPLE:
                found.people[value] = found.people.get(value, 0) + n
            else:
                found.cells[choice_id, value] = found.cells.get((choice_id, value), 0) + n
        return found

    def pairs_with(self, question_id: int, others: list[int]) -> dict[tuple[int, int, int], int]:
        """{(other question, its choice, this question's choice): pairs} for one question
        against several, in one query (the index's brand question against the scales)."""
        rows = self._cross_rows(kind=TallyKind.PAIR).filter(
            Q(question_id=question_id, other_question_id__in=others)
            | Q(other_question_id=question_id, question_id__in=others)
        )
        found: dict[tuple[int, int, int], int] = {}
        for q, c, oq, oc, n in rows.values_list(
            "question_id", "choice_id", "other_question_id", "other_choice_id", "n"
        ):
            key = (oq, oc, c) if q == question_id else (q, c, oc)
            found[key] = found.get(key, 0) + n
        return found


def _summed(rows: list[tuple], built_at) -> KeptCounts:
    kept = KeptCounts(built_at=built_at, rows=rows)
    for status, kind, question_id, choice_id, special, value, texted, n in rows:
        if kind == TallyKind.RESPONSE:
            kept.responses[status] = kept.responses.get(status, 0) + n
        elif kind == TallyKind.ANSWER:
            base = kept.bases.setdefault((question_id, value), dict.fromkeys(BASE_FIGURES, 0))
            base["asked"] += n
            if special == "dk":
                base["dk"] += n
            elif special == "refused":
                base["refused"] += n
            else:
                if value:
                    base["numbers"] += n
                if texted:
                    base["texts"] += n
        elif kind == TallyKind.CHOICE:
            per = kept.choices.setdefault(question_id, {})
            per[choice_id] = per.get(choice_id, 0) + n
        elif kind == TallyKind.PICKED:
            kept.picked[question_id] = kept.picked.get(question_id, 0) + n
    return kept


def kept_counts(*, version: QuestionnaireVersion) -> KeptCounts | None:
    """The version's kept counts over every status, in two queries; None while they are
    not kept."""
    scope = TallyScope.objects.filter(version_id=version.pk, ready=True).first()
    if scope is None:
        return None
    rows = (
        Tally.objects.filter(version_id=version.pk, kind__in=BASE_KINDS)
        .exclude(n=0)
        .values_list(*ROW_FIELDS)
    )
    kept = _summed(list(rows), scope.built_at)
    kept.version_id = version.pk
    kept.statuses = tuple(ResponseStatus.values)
    return kept


def response_totals(*, version_ids: list[int]) -> tuple[dict[int, dict[str, int]], set[int]]:
    """{version id: {status: interviews}} for the versions whose counts are kept, and the
    set of those versions; two queries."""
    ready = set(
        TallyScope.objects.filter(version_id__in=version_ids, ready=True).values_list(
            "version_id", flat=True
        )
    )
    totals: dict[int, dict[str, int]] = {pk: {} for pk in ready}
    rows = Tally.objects.filter(version_id__in=ready, kind=TallyKind.RESPONSE).values_list(
        "version_id", "status", "n"
    )
    for version_id, status, n in rows:
        totals[version_id][status] = totals[version_id].get(status, 0) + n
    return totals, ready
