"""Sections (标段). The full lifecycle (events, postponement) is added with the order engine."""

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
