"""Results the kept counts cannot serve, over more interviews than the inline limit: the
page says they are being computed and shows the task's progress, then the figures (equal
to the ones computed in the request) with the time they were computed; stale figures are
shown while they are computed again; a failure is shown with a retry; a lost computation
is asked for again; small scopes are still computed in the request."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from ops.models import OutboxMessage
from reports import computed
from reports.models import ComputedResults, ComputedStatus
from reports.results import results_build
from reports.selectors import ResultFilters
from surveys.models import Question
from tests.factories import UserFactory
from tests.reports.data import demo_dataset
from tests.reports.test_kept_counts import figures

pytestmark = pytest.mark.django_db

NARROW = {"date_from": "2026-03-03"}


@pytest.fixture
def limited(settings):
    settings.WAIHU_RESULTS_INLINE_LIMIT = 5
    settings.WAIHU_RESULTS_FRESH_SECONDS = 600
    return settings


@pytest.fixture
def dataset(demo_version):
    demo_dataset(demo_version, count=12)
    return demo_version


def _page(client, version, params=None):
    return client.get(reverse("reports:results", args=[version.pk]), params or {})


def test_a_narrowed_page_over_many_interviews_is_computed_by_a_task_with_its_progress(
    client, analyst, dataset, limited, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = _page(client, dataset, NARROW)
    assert first.status_code == 200
    assert "reports/computing.html" in [t.name for t in first.templates]
    row = ComputedResults.objects.get(version=dataset)
    assert row.status == ComputedStatus.QUEUED and row.figures is None
    assert OutboxMessage.objects.filter(task="reports.tasks.computed_build_task").count() == 1
    assert b'data-testid="computing"' in first.content
    status_url = reverse("reports:computed_status", args=[row.pk])
    assert client.get(status_url).json()["ready"] is False

    # Asked again before the task ran: nothing is queued twice.
    with django_capture_on_commit_callbacks(execute=False):
        _page(client, dataset, NARROW)
    assert OutboxMessage.objects.filter(task="reports.tasks.computed_build_task").count() == 1

    for callback in queued:  # the broker takes the task; eager here, a worker in production
        callback()
    state = client.get(status_url).json()
    assert state == {
        "status": "done",
        "status_label": "Done",
        "progress": 100,
        "ready": True,
        "error": "",
    }
    page = _page(client, dataset, NARROW)
    assert "reports/results.html" in [t.name for t in page.templates]
    shown = page.context["results"]
    assert shown.computed_at is not None
    inline = results_build(
        version=dataset, filters=ResultFilters(date_from=datetime.date(2026, 3, 3))
    )
    assert figures(shown.tables) == figures(inline.tables)
    assert shown.interviews == inline.interviews < 12
    assert shown.index.index == inline.index.index
    assert b'data-testid="computed-note"' in page.content


def test_the_crosstab_is_computed_with_the_page(
    client, analyst, dataset, limited, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    q1 = Question.objects.get(version=dataset, code="Q1")
    q9 = Question.objects.get(version=dataset, code="Q9")
    params = {**NARROW, "row": q9.pk, "column": f"q:{q1.pk}"}
    with django_capture_on_commit_callbacks(execute=True):
        _page(client, dataset, params)
    page = _page(client, dataset, params)
    table = page.context["crosstab"]
    assert table is not None
    assert sum(table.total_counts) > 0
    assert b'data-testid="crosstab-table"' in page.content
    # Another cross-tab is another computation.
    assert ComputedResults.objects.filter(version=dataset).count() == 1
    with django_capture_on_commit_callbacks(execute=False):
        other = _page(client, dataset, NARROW)
    assert "reports/computing.html" in [t.name for t in other.templates]
    assert ComputedResults.objects.filter(version=dataset).count() == 2


def test_stale_figures_are_shown_while_computed_again(
    client, analyst, dataset, limited, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        _page(client, dataset, NARROW)
    row = ComputedResults.objects.get(version=dataset)
    computed_at = row.computed_at
    later = timezone.now() + datetime.timedelta(minutes=11)
    with time_machine.travel(later, tick=False):
        with django_capture_on_commit_callbacks(execute=False):
            page = _page(client, dataset, NARROW)
        assert "reports/results.html" in [t.name for t in page.templates]
        assert page.context["results"].computed_at == computed_at
        assert b'data-testid="computed-refreshing"' in page.content
    row.refresh_from_db()
    assert row.status == ComputedStatus.QUEUED


def test_a_failure_is_shown_with_a_retry_and_a_lost_computation_is_asked_again(
    client, analyst, dataset, limited, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=False):
        _page(client, dataset, NARROW)
    row = ComputedResults.objects.get(version=dataset)
    good = row.options
    # Options the task cannot read: it fails, and says why on the row.
    ComputedResults.objects.filter(pk=row.pk).update(
        options={**good, "row": "Q-none", "column": "attr:brand"}
    )
    computed.computed_build(pk=row.pk)
    row.refresh_from_db()
    assert row.status == ComputedStatus.FAILED and "Q-none" in row.error
    assert row.figures is None
    ComputedResults.objects.filter(pk=row.pk).update(options=good, error="database went away")
    page = _page(client, dataset, NARROW)
    assert b"database went away" in page.content
    assert b'data-testid="computing-again"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(
            reverse("reports:computed_again", args=[row.pk]),
            {"next": reverse("reports:results", args=[dataset.pk]) + "?date_from=2026-03-03"},
        )
    assert again.status_code == 302 and "date_from" in again.url
    row.refresh_from_db()
    assert row.status == ComputedStatus.DONE and row.figures is not None
    # An outside address is not followed.
    outside = client.post(
        reverse("reports:computed_again", args=[row.pk]), {"next": "https://example.com/"}
    )
    assert outside.url == reverse("reports:version_list")

    # A computation whose worker was lost is asked for again after a while.
    ComputedResults.objects.filter(pk=row.pk).update(
        status=ComputedStatus.RUNNING, requested_at=timezone.now() - datetime.timedelta(hours=1)
    )
    before = OutboxMessage.objects.count()
    with django_capture_on_commit_callbacks(execute=False):
        _page(client, dataset, NARROW)
    assert OutboxMessage.objects.count() == before + 1


def test_small_scopes_and_kept_pages_are_computed_in_the_request(
    client, analyst, dataset, settings, django_capture_on_commit_callbacks
):
    settings.WAIHU_RESULTS_INLINE_LIMIT = 1000
    client.force_login(analyst)
    page = _page(client, dataset, NARROW)
    assert "reports/results.html" in [t.name for t in page.templates]
    assert page.context["results"].computed_at is None
    settings.WAIHU_RESULTS_INLINE_LIMIT = 0
    with django_capture_on_commit_callbacks(execute=False):
        plain = _page(client, dataset)  # no narrowing filter: kept counts, never a task
    assert "reports/results.html" in [t.name for t in plain.templates]
    assert not ComputedResults.objects.exists()


def test_only_readers_follow_a_computation(client, dataset, limited, analyst):
    client.force_login(analyst)
    _page(client, dataset, NARROW)
    row = ComputedResults.objects.get(version=dataset)
    requester = UserFactory(username="asker", roles=[Role.REQUESTER])
    client.force_login(requester)
    assert client.get(reverse("reports:computed_status", args=[row.pk])).status_code == 403
    assert client.post(reverse("reports:computed_again", args=[row.pk])).status_code == 403
