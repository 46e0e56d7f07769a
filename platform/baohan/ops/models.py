"""Platform-wide (public schema) operational rows."""

from __future__ import annotations

from django.db import models


class OutboxPending(models.Model):
    """A centre has outbox rows that may still be unsent (``baohan.outbox``).

    One row per committing transaction that queued tasks, written in that transaction and deleted
    once its tasks reached the broker. The periodic sweep reads this small table only, so a tick
    costs one query however many centres there are, and visits just the centres named here."""

    schema_name = models.CharField(max_length=63)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "待发任务标记"

    def __str__(self) -> str:
        return f"{self.schema_name}@{self.created_at:%Y-%m-%d %H:%M:%S}"


class CentreDue(models.Model):
    """A centre has periodic work (``job``, a task name) due at ``due_at`` (``baohan.ops.due``).

    Written by the centre's own services when they create work with a time attached (an order's
    payment deadline, a payout to send, a file to let go), and by the job itself after it ran
    (its next due time, from the centre's data). Beat claims the rows due, so a tick costs work
    proportional to the centres due, never to the number of centres."""

    schema_name = models.CharField(max_length=63)
    job = models.CharField(max_length=100)
    due_at = models.DateTimeField()

    class Meta:
        verbose_name = "定时任务到期"
        constraints = [models.UniqueConstraint(fields=["schema_name", "job"], name="ops_centredue_one_per_job")]
        indexes = [models.Index(fields=["job", "due_at"], name="ops_centredue_job_due_at")]

    def __str__(self) -> str:
        return f"{self.schema_name} {self.job}@{self.due_at:%Y-%m-%d %H:%M:%S}"
