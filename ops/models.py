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


class OutboxMessage(models.Model):
    """A task decided in a transaction, recorded in that same transaction and handed to the
    broker once it commits (ops.outbox). A broker that is down when the transaction commits
    costs nothing but time: the row stays unsent and the sweep hands it over when the broker
    is back, oldest first. The task runs under the id `outbox-<pk>` however many times it is
    handed over, so a task can tell a second delivery of the same work (ops.outbox.once)."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    # Blank: the queue the task's name routes to (config/queues.py) when it is handed over.
    queue = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # Set by a task that must not do its work twice (ops.outbox.once).
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "outbox message"
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at=None),
                name="ops_outbox_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"

    @property
    def task_id(self) -> str:
        return f"outbox-{self.pk}"
