"""The satisfaction index: per segment (brand), the mean top-two-box share of the rating
scales; segments weighted as the administrator set (SegmentWeight); the targets
(SatisfactionTarget) and the weakest items beside it.

A respondent's segment comes from the contact attributes (their brand) when a source is
registered, else from the questionnaire's own brand question when it has one (a single
choice whose options name at least two weighted segments), else there is none and the index
is the unweighted mean."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, QuerySet
from django.utils.translation import pgettext, pgettext_lazy

from reports import hooks, stats
from reports.models import SatisfactionTarget, SegmentWeight
from reports.tables import QuestionTable
from reports.tallies import KeptCounts
from surveys.models import AnswerChoice, Question, QuestionType, Response

SOURCE_ATTRIBUTES = "attributes"
SOURCE_QUESTION = "question"
SOURCE_NONE = "none"
WEAKEST = 3
# The names of the segments installed with Waihu (reports migration 0002), translated where
# they are shown: 神州行, 全球通, 动感地带 and TD in Chinese.
_SEGMENT_LABELS = (
    pgettext_lazy("segment", "Easyown"),
    pgettext_lazy("segment", "GoTone"),
    pgettext_lazy("segment", "M-Zone"),
    pgettext_lazy("segment", "TD"),
)
SEGMENT_NAMES = frozenset({"Easyown", "GoTone", "M-Zone", "TD"})


@dataclass
class ItemScore:
    question: Question
    valid: int
    top_two: int

    @property
    def percent(self) -> float | None:
        return stats.percent(self.top_two, self.valid)


@dataclass
class SegmentScore:
    name: str
    weight: Decimal
    respondents: int = 0
    items: dict[int, list[int]] = field(default_factory=dict)  # question id -> [t2b, valid]

    @property
    def label(self) -> str:
        """The segment's name in the reader's language: the branch's own brands are in the
        catalogue (SEGMENT_NAMES); a segment an administrator added reads as it was typed."""
        return pgettext("segment", self.name) if self.name in SEGMENT_NAMES else self.name

    @property
    def score(self) -> float | None:
        shares = [stats.percent(t2b, valid) for t2b, valid in self.items.values() if valid]
        if not shares:
            return None
        return sum(shares) / len(shares)


@dataclass
class TargetCheck:
    label: str
    percent: Decimal
    met: bool | None


@dataclass
class SatisfactionIndex:
    source: str
    source_question: Question | None
    segments: list[SegmentScore]
    items: list[ItemScore]
    index: float | None
    unweighted: float | None
    unmatched: dict[str, int]
    targets: list[TargetCheck]

    def _split(self) -> tuple[list[ItemScore], list[ItemScore]]:
        """(strongest best first, weakest worst first), ties in questionnaire order: at most
        WEAKEST each, the weakest never more than half of the items, so no item is named as
        both (with a single item, it is the strongest and there is no weakest)."""
        scored = [item for item in self.items if item.valid]
        worst_first = sorted(scored, key=lambda item: (item.percent, item.question.position))
        weakest = worst_first[: min(WEAKEST, len(scored) // 2)]
        rest = worst_first[len(weakest) :]
        strongest = sorted(rest, key=lambda item: (-item.percent, item.question.position))
        return strongest[:WEAKEST], weakest

    @property
    def weakest(self) -> list[ItemScore]:
        return self._split()[1]

    @property
    def strongest(self) -> list[ItemScore]:
        return self._split()[0]


def _segment_of(weights: list[SegmentWeight]) -> dict[str, SegmentWeight]:
    return {name: weight for weight in weights for name in weight.names()}


def brand_question(*, questions: list[Question], weights: list[SegmentWeight]) -> Question | None:
    """The questionnaire's brand question: the first single choice whose options name at
    least two weighted segments (the demo's Q3, 请问您目前使用的是哪个品牌？)."""
    names = _segment_of(weights)
    for q in questions:
        if q.type != QuestionType.SINGLE:
            continue
        hits = {
            names[c.label.strip().casefold()].pk
            for c in q.choices.all()
            if c.label.strip().casefold() in names
        }
        if len(hits) >= 2:
            return q
    return None


def satisfaction_index(
    *,
    questions: list[Question],
    tables: list[QuestionTable],
    responses: QuerySet[Response],
    kind: str | None = None,
    kept: KeptCounts | None = None,
) -> SatisfactionIndex:
    """The index over the rating scales of the tables. `kind` is the campaign kind whose
    target applies; without one every configured target is shown. With kept counts that
    cover the responses' statuses, the brands' counts are read from them."""
    weights = list(SegmentWeight.objects.all())
    by_name = _segment_of(weights)
    scales = [t for t in tables if t.question.type == QuestionType.SCALE]
    items = [ItemScore(question=t.question, valid=t.valid, top_two=t.top_two or 0) for t in scales]
    top_two_ids = {
        t.question.pk: {
            c.pk for c in sorted(t.question.choices.all(), key=lambda c: c.position)[:2]
        }
        for t in scales
    }
    segments = {w.pk: SegmentScore(name=w.name, weight=w.weight) for w in weights}
    unmatched: Counter = Counter()

    def add(segment_label: str, question_id: int, choice_id: int, n: int) -> None:
        weight = by_name.get(segment_label.strip().casefold())
        if weight is None:
            return
        cell = segments[weight.pk].items.setdefault(question_id, [0, 0])
        cell[1] += n
        if choice_id in top_two_ids[question_id]:
            cell[0] += n

    source, source_question = SOURCE_NONE, None
    ids = responses.order_by().values("pk")
    scale_ids = list(top_two_ids)
    # The contacts' brand when the interviews have contacts that carry one; else the
    # questionnaire's own brand question.
    by_brand = None
    if kept is not None and kept.by_attribute:
        by_brand = kept.attribute_choices("brand", scale_ids)
        mapping = {}
        branded = any(value and n for value, n in by_brand.people.items())
    else:
        mapping = hooks.contact_attributes(responses) or {}
        branded = any(attrs.get("brand") for attrs in mapping.values())
    if branded:
        source = SOURCE_ATTRIBUTES
        people: dict[str, int] = Counter()
        brands = (
            by_brand.people.items()
            if by_brand is not None
            else Counter(attrs.get("brand", "") for attrs in mapping.values()).items()
        )
        for brand, n in brands:
            if brand.strip().casefold() in by_name:
                people[by_name[brand.strip().casefold()].pk] += n
            elif n:
                unmatched[brand or "?"] += n
        for pk, n in people.items():
            segments[pk].respondents = n
        if by_brand is not None:
            choice_question = {
                c.pk: t.question.pk for t in scales for c in t.question.choices.all()
            }
            for (choice_id, brand), n in by_brand.cells.items():
                question_id = choice_question.get(choice_id)
                if question_id is not None:
                    add(brand, question_id, choice_id, n)
        elif scale_ids:
            rows = (
                AnswerChoice.objects.filter(question_id__in=scale_ids, answer__response__in=ids)
                .values_list("answer__response_id", "question_id", "choice_id")
                .order_by()
            )
            tally: Counter = Counter()
            for response_id, question_id, choice_id in rows.iterator(chunk_size=5000):
                tally[mapping.get(response_id, {}).get("brand", ""), question_id, choice_id] += 1
            for (brand, question_id, choice_id), n in tally.items():
                add(brand, question_id, choice_id, n)
    else:
        source_question = brand_question(questions=questions, weights=weights)
        if source_question is not None:
            source = SOURCE_QUESTION
            labels = {c.pk: c.label for c in source_question.choices.all()}
            brand_table = next((t for t in tables if t.question.pk == source_question.pk), None)
            for choice in source_question.choices.all():
                count = 0
                if brand_table is not None:
                    count = next((r.count for r in brand_table.rows if r.code == choice.code), 0)
                weight = by_name.get(choice.label.strip().casefold())
                if weight is None:
                    if count:
                        unmatched[choice.label] += count
                else:
                    segments[weight.pk].respondents += count
            if scale_ids and kept is not None and kept.crossed:
                pairs = kept.pairs_with(source_question.pk, scale_ids)
                for (question_id, choice_id, brand_choice), n in pairs.items():
                    add(labels.get(brand_choice, ""), question_id, choice_id, n)
            elif scale_ids:
                other = "answer__response__answers__selected"
                rows = (
                    AnswerChoice.objects.filter(
                        question_id__in=scale_ids,
                        answer__response__in=ids,
                        **{f"{other}__question": source_question},
                    )
                    .values("question_id", "choice_id", brand=F(f"{other}__choice_id"))
                    .annotate(n=Count("id"))
                    .order_by()
                )
                for row in rows:
                    add(
                        labels.get(row["brand"], ""), row["question_id"], row["choice_id"], row["n"]
                    )

    segment_list = [segments[w.pk] for w in weights]
    shares = [item.percent for item in items if item.percent is not None]
    unweighted = sum(shares) / len(shares) if shares else None
    if source == SOURCE_NONE:
        index = unweighted
    else:
        index = stats.weighted_index(
            {s.name: s.score for s in segment_list}, {s.name: s.weight for s in segment_list}
        )
    targets = SatisfactionTarget.objects.all()
    if kind:
        targets = targets.filter(kind=kind)
    checks = [
        TargetCheck(
            label=t.kind_label,
            percent=t.percent,
            met=None if index is None else index >= float(t.percent),
        )
        for t in targets
    ]
    return SatisfactionIndex(
        source=source,
        source_question=source_question,
        segments=segment_list,
        items=items,
        index=index,
        unweighted=unweighted,
        unmatched=dict(unmatched),
        targets=checks,
    )
