"""Public-schema records of the console: who may act on which centre, and what they did."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models import Tenant


class ConsoleRole(models.Model):
    """A console user's role: all centres (platform admin), one centre (its staff), or one issuer's
    orders in one centre (that issuer's staff)."""

    class Kind(models.TextChoices):
        PLATFORM_ADMIN = "platform_admin", "平台管理员"
        CENTRE_STAFF = "centre_staff", "交易中心工作人员"
        ISSUER_STAFF = "issuer_staff", "出函机构工作人员"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_roles")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    issuer_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="platform_admin", tenant__isnull=True, issuer_code=""))
                | (models.Q(kind="centre_staff", tenant__isnull=False, issuer_code=""))
                | (models.Q(kind="issuer_staff", tenant__isnull=False) & ~models.Q(issuer_code="")),
                name="console_role_scope",
            ),
            models.UniqueConstraint(fields=["user", "kind", "tenant", "issuer_code"], name="console_role_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.tenant_id or ''} {self.issuer_code}"


class ConsoleAction(models.Model):
    """One console action: who, when, on which centre, what changed. Never updated or deleted."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    actor_label = models.CharField(max_length=200)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=60)
    detail: models.JSONField[Any] = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "-id"], name="console_action_by_tenant")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class BulkOperation(models.Model):
    """Work over every centre (re-validating packs, migrating schemas), with its progress and a
    result per centre."""

    class Kind(models.TextChoices):
        REVALIDATE = "revalidate", "重新校验规则包"
        MIGRATE = "migrate", "迁移全部数据库结构"

    class State(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "进行中"
        DONE = "done", "已完成"
        FAILED = "failed", "有失败"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # One entry per centre: {"code", "ok", "message"}.
    results: models.JSONField[Any] = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    # Last sign of life: queued (or queued again), claimed by a worker, one more centre done. The
    # sweep (``bulk_operations_recover``) queues again a queued operation quiet for minutes and fails
    # a running one quiet for half an hour (its worker died).
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.done}/{self.total}"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else (100 if self.state == "done" else 0)


class CentreRollup(models.Model):
    """When a centre's figures below were last recomputed from its schema (``console.rollup``).
    The console reads these public-schema rows instead of entering every centre's schema."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True, related_name="+")
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.tenant_id} @{self.refreshed_at:%Y-%m-%d %H:%M:%S}"


class CentreStateFigure(models.Model):
    """A centre's orders in one state for one issuer: how many, their premium, and the state in the
    centre's words when last rolled up."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    issuer_code = models.CharField(max_length=40, blank=True)
    state = models.CharField(max_length=20)
    label = models.CharField(max_length=100)
    orders = models.PositiveIntegerField()
    premium = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "issuer_code", "state"], name="console_state_figure_once")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.issuer_code} {self.state}: {self.orders}"


class CentreMonthFigure(models.Model):
    """The guarantees a centre's issuer issued in one month (Asia/Shanghai), and their premium."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # its first day
    issuer_code = models.CharField(max_length=40, blank=True)
    issued = models.PositiveIntegerField()
    premium = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "month", "issuer_code"], name="console_month_figure_once")
        ]
        indexes = [models.Index(fields=["month", "tenant"], name="console_month_figure_month")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.month:%Y-%m} {self.issuer_code}: {self.issued}"
