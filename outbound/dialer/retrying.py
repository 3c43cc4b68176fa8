"""A Celery task base for the dialer's and the sandbox's work: a task that failed because
the database connection dropped (PostgreSQL restarted, a network blip) is tried again with
a growing delay, on a fresh connection, instead of leaving its calls open."""

from celery import Task
from django.db import InterfaceError, OperationalError, close_old_connections

DROPPED_CONNECTION = (OperationalError, InterfaceError)


class DatabaseRetryTask(Task):
    autoretry_for = DROPPED_CONNECTION
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 10

    def retry(self, *args, **kwargs):
        # The broken connection goes before the retry is sent: the next try (and whatever
        # this worker runs meanwhile) opens a new one. (A healthy connection is kept as
        # long as CONN_MAX_AGE says.)
        close_old_connections()
        return super().retry(*args, **kwargs)
