import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("waihu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker records itself and the queues it serves (the readiness check reads it).
app.steps["worker"].add("ops.heartbeats:WorkerHeartbeat")
