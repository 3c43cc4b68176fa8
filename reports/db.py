"""How the reports' read queries run on the database.

PostgreSQL compiles a query to machine code (JIT) when its estimated cost passes
jit_above_cost. The reports' GROUP BY queries over a large questionnaire pass it, and the
compiling then costs more than it saves (the results index spent 93% of its time there),
so the reports run their queries with JIT off. It is switched off with SET LOCAL inside a
transaction, so it ends with the transaction and never leaks to the next user of a pooled
connection."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def analytics() -> Iterator[None]:
    """A transaction for reading results; on PostgreSQL, with JIT compilation off."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def analytics_view(view: Callable) -> Callable:
    """Run a results view (queries and template) inside `analytics()`."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        with analytics():
            return view(request, *args, **kwargs)

    return wrapped
