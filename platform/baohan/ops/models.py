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
