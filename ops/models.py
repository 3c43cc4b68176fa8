"""What the health check reads: the last time each worker, and the dialer's tick, was seen."""

from django.db import models


class Heartbeat(models.Model):
    """One row per thing that beats: `worker:<hostname>` (every worker, from a timer in its
    main process, with the queues it serves) and `dialer-tick` (each tick of the dialer as
    it starts, with how late it started)."""

    name = models.CharField(max_length=200, primary_key=True)
    seen_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "heartbeat"

    def __str__(self) -> str:
        return self.name
