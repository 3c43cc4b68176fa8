"""The satisfaction index as it is read: the strong and the weak items (短板), never one
item as both, and the branch's segments in the reader's language."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import translation

from reports.index import WEAKEST, ItemScore, SatisfactionIndex, SegmentScore


def index_of(percents):
    items = [
        ItemScore(question=SimpleNamespace(position=n, code=f"Q{n}"), valid=100, top_two=p)
        for n, p in enumerate(percents, start=1)
    ]
    return SatisfactionIndex(
        source="none",
        source_question=None,
        segments=[],
        items=items,
        index=None,
        unweighted=None,
        unmatched={},
        targets=[],
    )


@pytest.mark.parametrize("count", range(0, 9))
def test_no_item_is_both_strongest_and_weakest(count):
    result = index_of([90 - 7 * n for n in range(count)])
    strong = [i.question.code for i in result.strongest]
    weak = [i.question.code for i in result.weakest]
    assert not set(strong) & set(weak)
    assert len(weak) == min(WEAKEST, count // 2)
    assert len(strong) == min(WEAKEST, count - len(weak))
    assert all(s.percent > w.percent for s in result.strongest for w in result.weakest)


def test_order_best_first_and_worst_first_with_ties_in_questionnaire_order():
    result = index_of([50, 80, 50, 20, 80, 95, 20])
    assert [i.question.code for i in result.strongest] == ["Q6", "Q2", "Q5"]
    assert [i.question.code for i in result.weakest] == ["Q4", "Q7", "Q1"]


def test_items_without_answers_are_left_out():
    result = index_of([70, 40])
    result.items.append(ItemScore(question=SimpleNamespace(position=9), valid=0, top_two=0))
    assert [i.question.position for i in result.strongest] == [1]
    assert [i.question.position for i in result.weakest] == [2]


@pytest.mark.parametrize(
    ("name", "zh", "en"),
    [
        ("Easyown", "神州行", "Easyown"),
        ("GoTone", "全球通", "GoTone"),
        ("M-Zone", "动感地带", "M-Zone"),
    ],
)
def test_the_branchs_segments_read_in_the_readers_language(name, zh, en):
    segment = SegmentScore(name=name, weight=Decimal(10))
    with translation.override("zh-hans"):
        assert segment.label == zh
    with translation.override("en"):
        assert segment.label == en


def test_a_segment_an_administrator_added_reads_as_typed():
    with translation.override("zh-hans"):
        assert SegmentScore(name="校园客户", weight=Decimal(5)).label == "校园客户"
        assert SegmentScore(name="Number", weight=Decimal(5)).label == "Number"
