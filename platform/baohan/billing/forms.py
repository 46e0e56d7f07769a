"""Console forms for billing: they validate input only; the services act."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from baohan.billing.models import Plan
from baohan.billing.periods import Period, period_parse
from baohan.guarantees.numbers import AmountFormField, AsciiDecimalFormField


class PlanForm(forms.Form):
    code = forms.SlugField(label="方案代码", max_length=40, help_text="字母、数字、连字符，如 standard-2027")
    name = forms.CharField(label="方案名称", max_length=100)
    # Each term is optional (blank is zero); at least one must be set.
    monthly_fee = AmountFormField(label="月费（元）", max_digits=12, min_value=Decimal(0), required=False)
    per_guarantee_fee = AmountFormField(label="每笔出函费（元）", max_digits=12, min_value=Decimal(0), required=False)
    premium_share = AsciiDecimalFormField(
        label="保费分成比例",
        max_digits=7,
        decimal_places=6,
        min_value=Decimal(0),
        max_value=Decimal(1),
        required=False,
        help_text="小数表示，如 0.015 即保费的 1.5%",
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        if Plan.objects.filter(code=code).exists():
            raise forms.ValidationError("该方案代码已存在", code="exists")
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        terms = ("monthly_fee", "per_guarantee_fee", "premium_share")
        for name in terms:
            if name in data and data[name] is None:
                data[name] = Decimal(0)
        if all(data.get(name) == 0 for name in terms):
            self.add_error(
                "monthly_fee", forms.ValidationError("月费、每笔出函费、保费分成比例至少填写一项", code="empty")
            )
        return data


class PlanAssignForm(forms.Form):
    plan = forms.ModelChoiceField(
        label="计费方案",
        queryset=Plan.objects.filter(active=True).order_by("code"),
        to_field_name="code",
        empty_label="请选择方案",
        error_messages={"required": "请选择计费方案", "invalid_choice": "该方案不存在或已停用"},
    )


class ReportForm(forms.Form):
    period = forms.CharField(label="计费月份", max_length=7, error_messages={"required": "请填写计费月份"})

    def clean_period(self) -> Period:
        try:
            return period_parse(self.cleaned_data["period"])
        except ValueError as exc:
            raise forms.ValidationError("计费月份格式应为 YYYY-MM，如 2026-10", code="invalid") from exc
