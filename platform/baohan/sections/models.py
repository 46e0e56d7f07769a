"""Sections (标段), pushed by the trading centre, and the events that change them."""

from __future__ import annotations

from django.db import models

from baohan.rulepacks.models import SectionStatus


class Section(models.Model):
    class Status(models.TextChoices):
        ACCEPTING = SectionStatus.ACCEPTING.value, "接受投标"
        SUSPENDED = SectionStatus.SUSPENDED.value, "中止"
        PAUSED = SectionStatus.PAUSED.value, "暂停"
        TERMINATED = SectionStatus.TERMINATED.value, "终止"
        FAILED_TENDER = SectionStatus.FAILED_TENDER.value, "流标"
        OPENED = SectionStatus.OPENED.value, "已开标"

    code = models.CharField("标段编号", max_length=64, unique=True)
    name = models.CharField("标段名称", max_length=300)
    project_code = models.CharField("项目编号", max_length=64, blank=True)
    project_name = models.CharField("项目名称", max_length=300, blank=True)
    project_type = models.CharField("项目类型", max_length=40)
    location = models.CharField("项目属地", max_length=100, blank=True)
    deposit_amount = models.DecimalField("保证金金额", max_digits=14, decimal_places=2)
    deposit_deadline = models.DateTimeField("保证金缴纳截止时间")
    opening_time = models.DateTimeField("开标时间")
    bid_validity_days = models.PositiveIntegerField("投标有效期(天)", default=90)
    status = models.CharField("标段状态", max_length=20, choices=Status.choices, default=Status.ACCEPTING)
    opened_at = models.DateTimeField("实际开标时间", null=True, blank=True)
    postponed_from = models.DateTimeField("原开标时间", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["opening_time", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(deposit_amount__gt=0), name="section_deposit_positive"),
            models.CheckConstraint(
                condition=models.Q(deposit_deadline__lte=models.F("opening_time")),
                name="section_deadline_before_opening",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SectionEvent(models.Model):
    """Something the trading centre reported about a section; one row per report."""

    class Kind(models.TextChoices):
        OPENED = "opened", "开标"
        SUSPENDED = "suspended", "中止"
        PAUSED = "paused", "暂停"
        RESUMED = "resumed", "恢复"
        TERMINATED = "terminated", "终止"
        FAILED_TENDER = "failed_tender", "流标"
        OPENING_POSTPONED = "opening_postponed", "延期开标"

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField("事件编号", max_length=64, unique=True, null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    new_opening_time = models.DateTimeField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    rule_pack_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.section_id}:{self.kind}"
