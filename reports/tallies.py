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

from reports.models import Tally, TallyKind, TallyScope
from surveys.models import Answer, AnswerChoice, QuestionnaireVersion, Response

# (status, kind, question id, choice id, special, value, texted)
Key = tuple[str, str, int, int, str, str, bool]


def number_key(number: Decimal | None) -> str:
    if number is None:
        return ""
    return format(Decimal(number).normalize(), "f")


def _contribution(response_id: int) -> Counter:
    """The keys one interview adds to its version's counts, as it stands in the database."""
    status = Response.objects.filter(pk=response_id).values_list("status", flat=True).first()
    found: Counter = Counter()
    if status is None:
        return found
    found[(status, TallyKind.RESPONSE, 0, 0, "", "", False)] += 1
    answers = Answer.objects.filter(response_id=response_id).values_list(
        "question_id", "special", "number", "text"
    )
    for question_id, special, number, text in answers:
        key = (status, TallyKind.ANSWER, question_id, 0, special, number_key(number), text != "")
        found[key] += 1
    picked = set()
    selections = AnswerChoice.objects.filter(answer__response_id=response_id).values_list(
        "answer_id", "question_id", "choice_id"
    )
    for answer_id, question_id, choice_id in selections:
        found[(status, TallyKind.CHOICE, question_id, choice_id, "", "", False)] += 1
        if answer_id not in picked:
            picked.add(answer_id)
            found[(status, TallyKind.PICKED, question_id, 0, "", "", False)] += 1
    return found


def _apply(version_id: int, delta: dict[Key, int]) -> None:
    rows = sorted((key, n) for key, n in delta.items() if n)
    if not rows:
        return
    table = Tally._meta.db_table
    columns = ", ".join(Tally.KEY)
    marks = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    params: list = []
    for key, n in rows:
        params += [version_id, *key, n]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}, n) VALUES {marks} "  # noqa: S608
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
        found[(row["status"], TallyKind.RESPONSE, 0, 0, "", "", False)] += row["n"]
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
        key = (
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
        key = (status, TallyKind.CHOICE, row["question_id"], row["choice_id"], "", "", False)
        found[key] += row["n"]
    for row in selections.values("answer__response__status", "question_id").annotate(
        n=Count("answer_id", distinct=True)
    ):
        status = row["answer__response__status"]
        found[(status, TallyKind.PICKED, row["question_id"], 0, "", "", False)] += row["n"]
    return found


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
                Tally(
                    version_id=version.pk,
                    status=status,
                    kind=kind,
                    question_id=question_id,
                    choice_id=choice_id,
                    special=special,
                    value=value,
                    texted=texted,
                    n=n,
                )
                for (status, kind, question_id, choice_id, special, value, texted), n in sorted(
                    counts.items()
                )
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
            (t.status, t.kind, t.question_id, t.choice_id, t.special, t.value, t.texted): t.n
            for t in Tally.objects.filter(version=version).exclude(n=0)
        }
    )


def recounted_rows(*, version: QuestionnaireVersion) -> Counter:
    return +_recount(version.pk)


ROW_FIELDS = ("status", "kind", "question_id", "choice_id", "special", "value", "texted", "n")
BASE_FIGURES = ("asked", "dk", "refused", "numbers", "texts")


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

    def over(self, statuses: Iterable[str]) -> KeptCounts:
        """The same counts, of the interviews in these statuses only."""
        wanted = set(statuses)
        return _summed([row for row in self.rows if row[0] in wanted], self.built_at)


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
    rows = Tally.objects.filter(version_id=version.pk).exclude(n=0).values_list(*ROW_FIELDS)
    return _summed(list(rows), scope.built_at)


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
