"""The transactional outbox: a task to queue, written in the same transaction as the change that
causes it (one table per centre's schema). A row exists until the broker has accepted its task."""

from __future__ import annotations

from django.db import models


class OutboxMessage(models.Model):
    task = models.CharField("任务", max_length=120)
    args = models.JSONField("位置参数", default=list)
    kwargs = models.JSONField("关键字参数", default=dict)
    created_at = models.DateTimeField("写入时间", auto_now_add=True)
    attempts = models.PositiveIntegerField("发送失败次数", default=0)
    last_error = models.CharField("最近一次失败", max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "待发任务"

    def __str__(self) -> str:
        return f"{self.task}#{self.pk}"
