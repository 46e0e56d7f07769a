"""The transactional outbox: a task to queue, written in the same transaction as the change that
causes it (one table per centre's schema). A row exists until the broker has accepted its task, or
until it is parked: a row whose task fails to publish on its own account (a task name no process
registers, arguments the task does not take or that cannot be serialised) is tried
``PARK_AFTER_TASK_ERRORS`` times, over ``PARK_NOT_BEFORE_SECONDS`` at least (baohan/outbox/services.py),
then set aside with ``parked_at`` so the centre's other rows go on. A parked row is kept (with its
last error) for an operator to look at; it is never relayed again."""

from __future__ import annotations

from django.db import models


class OutboxMessage(models.Model):
    task = models.CharField("任务", max_length=120)
    args = models.JSONField("位置参数", default=list)
    kwargs = models.JSONField("关键字参数", default=dict)
    created_at = models.DateTimeField("写入时间", auto_now_add=True)
    attempts = models.PositiveIntegerField("发送失败次数", default=0)
    last_error = models.CharField("最近一次失败", max_length=300, blank=True)
    # Failures of the row itself; the broker being down or refusing is not counted here.
    task_errors = models.PositiveIntegerField("任务自身出错次数", default=0)
    parked_at = models.DateTimeField("搁置时间", null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "待发任务"

    def __str__(self) -> str:
        return f"{self.task}#{self.pk}"
