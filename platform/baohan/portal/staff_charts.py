"""The staff dashboard's charts, each with the table of its numbers: guarantees and premium per
day, the orders' funnel in the pack's words, premium by issuer, refund reasons, and the deposit
deadlines of the coming week. Read through ``staff_selectors`` (summed by the database)."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _

from baohan.portal import staff_selectors as sel
from baohan.portal.charts import Chart, DateRange, Series, Table
from baohan.rulepacks.models import RulePack


def _short(day: date) -> str:
    return f"{day.month}月{day.day}日"


def daily_chart(*, span: DateRange) -> Chart:
    days = sel.daily_figures(span=span)
    table = Table(
        "daily",
        _("每日出函与保费"),
        [_("日期"), _("新增订单"), _("出函笔数"), _("保费（元）")],
        [[d.day, d.orders, d.issued, d.premium] for d in days],
    )
    return Chart(
        table,
        [_short(d.day) for d in days],
        [
            Series(_("出函笔数"), [d.issued for d in days]),
            Series(_("保费（元）"), [d.premium for d in days], kind="line", axis="money"),
        ],
        wide=True,
        empty=_("所选期间没有出函"),
    )


def funnel_chart(*, pack: RulePack, span: DateRange) -> Chart:
    steps = sel.order_funnel(pack=pack, span=span)
    table = Table(
        "funnel",
        _("订单漏斗"),
        [_("环节"), _("到达该环节的订单"), _("占提交订单")],
        [[s.label, s.count, f"{s.percent}%"] for s in steps],
    )
    return Chart(
        table,
        [s.label for s in steps],
        [Series(_("到达该环节的订单"), [s.count for s in steps])],
        horizontal=True,
        empty=_("所选期间没有提交的订单"),
    )


def issuer_chart(*, pack: RulePack, span: DateRange) -> Chart:
    rows = sel.premium_by_issuer(pack=pack, span=span)
    table = Table(
        "issuers",
        _("各出函机构保费"),
        [_("出函机构"), _("出函笔数"), _("保费（元）")],
        [[r.name, r.issued, r.premium] for r in rows],
    )
    return Chart(
        table,
        [r.name for r in rows],
        [Series(_("保费（元）"), [r.premium for r in rows], axis="money")],
        horizontal=True,
        empty=_("所选期间没有出函"),
    )


def refund_chart(*, span: DateRange) -> Chart:
    rows = sel.refund_reasons(span=span)
    table = Table(
        "refunds",
        _("退保原因"),
        [_("原因"), _("适用规则"), _("退保申请"), _("退保金额（元）")],
        [[r.trigger_label, r.rule, r.count, r.amount] for r in rows],
    )
    return Chart(
        table,
        [r.trigger_label for r in rows],
        [Series(_("退保申请"), [r.count for r in rows])],
        horizontal=True,
        empty=_("所选期间没有退保申请"),
    )


def deadline_chart() -> Chart:
    days = sel.deposit_deadlines(days=7)
    table = Table(
        "deadlines",
        _("未来7天保证金截止"),
        [_("日期"), _("截止标段"), _("已出函保函")],
        [[d.day, d.sections, d.issued] for d in days],
    )
    return Chart(
        table,
        [_short(d.day) for d in days],
        [Series(_("截止标段"), [d.sections for d in days]), Series(_("已出函保函"), [d.issued for d in days])],
        empty=_("未来7天没有保证金截止的标段"),
    )


def dashboard_charts(*, pack: RulePack, span: DateRange) -> list[Chart]:
    return [
        daily_chart(span=span),
        funnel_chart(pack=pack, span=span),
        issuer_chart(pack=pack, span=span),
        refund_chart(span=span),
        deadline_chart(),
    ]


def state_table(*, pack: RulePack, span: DateRange) -> tuple[Table, list[sel.StateCount]]:
    by_state = sel.order_counts_by_state(pack=pack, span=span)
    table = Table("states", _("订单状态"), [_("状态"), _("订单数")], [[s.label, s.count] for s in by_state])
    return table, by_state
