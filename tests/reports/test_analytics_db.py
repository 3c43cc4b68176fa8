"""How the reports' queries meet the database: the interviews left out of a scope are found
with NOT EXISTS (an anti-join at any size, where NOT IN stops being hashed past work_mem),
and the results pages run in a transaction with PostgreSQL's JIT compilation off."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import hooks
from reports.db import analytics
from reports.selectors import ResultFilters, scope_responses
from reports.tables import question_tables
from tests.reports.data import demo_dataset

pytestmark = pytest.mark.django_db


def test_the_left_out_interviews_are_found_with_not_exists(demo_version, analyst, monkeypatch):
    from reports import tables as module

    # As a subquery (more left out than fit in a list of ids).
    monkeypatch.setattr(module, "EXCLUDED_AS_LIST", 0)
    demo_dataset(demo_version, count=12)
    most = scope_responses(version=demo_version, filters=ResultFilters(statuses="ended"))
    with CaptureQueriesContext(connection) as queries:
        tables = question_tables(version=demo_version, responses=most)
    sql = [q["sql"].upper() for q in queries]
    assert any(re.search(r"NOT \(?EXISTS", s) for s in sql)
    assert not any(re.search(r'NOT \("[A-Z_]+"\."ID" IN \(SELECT', s) for s in sql)
    assert tables[0].asked == 13  # twelve completed, one partial


def _jit() -> str | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_analytics_is_a_transaction_with_jit_off_that_ends_with_it():
    # SET LOCAL lasts to the end of the outermost transaction: the test runs outside one,
    # as a view does.
    before = _jit()
    with analytics():
        assert connection.in_atomic_block
        inside = _jit()
    if connection.vendor == "postgresql":
        assert inside == "off"
        assert _jit() == before
    else:
        assert inside is None


def test_the_results_page_runs_its_queries_with_jit_off(
    client, analyst, demo_version, no_attribute_source
):
    demo_dataset(demo_version, count=3)
    seen = []

    def source(responses):
        seen.append((connection.in_atomic_block, _jit()))
        return {}

    hooks.register_attribute_source(source)
    client.force_login(analyst)
    response = client.get(f"/reports/versions/{demo_version.pk}/")
    assert response.status_code == 200
    expected = "off" if connection.vendor == "postgresql" else None
    assert seen and all(entry == (True, expected) for entry in seen)
