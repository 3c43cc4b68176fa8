"""The WSGI application the agent benchmark serves: Waihu as in production, except that the
sandbox's countdowns (the ringing before an answer, the talk before the customer hangs up)
run on timers in the serving process, as a Celery worker's countdowns would, so each call
lasts its set length without a broker. Tasks otherwise run inline
(CELERY_TASK_ALWAYS_EAGER)."""

import threading

from django.db import connections

from config.wsgi import application
from outbound.sandbox import tasks


def _on_a_timer(task):
    def apply_async(args=(), countdown=0, **options):
        def run():
            try:
                task.run(*args)
            finally:
                connections.close_all()

        timer = threading.Timer(countdown or 0, run)
        timer.daemon = True
        timer.start()

    return apply_async


tasks.sandbox_connect.apply_async = _on_a_timer(tasks.sandbox_connect)
tasks.sandbox_hang_up.apply_async = _on_a_timer(tasks.sandbox_hang_up)

__all__ = ["application"]
