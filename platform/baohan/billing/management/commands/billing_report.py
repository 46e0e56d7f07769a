"""``billing_report [--period YYYY-MM] [CENTRE ...]``: report usage to Stripe, one line per centre
and month. Without ``--period``: every ended month not reported yet (what the daily task does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from baohan.billing.errors import BillingError
from baohan.billing.models import TenantPlan
from baohan.billing.periods import period_parse
from baohan.billing.services import ReportOutcome, periods_due, usage_report


class Command(BaseCommand):
    help = "Report centres' usage to Stripe: one month (--period 2026-10) or every month due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("centres", nargs="*", help="centre codes (default: every active centre with a plan)")
        parser.add_argument("--period", help="the month to report, YYYY-MM (default: every ended month not reported)")

    def handle(self, *args: Any, **options: Any) -> None:
        period = None
        if options["period"]:
            try:
                period = period_parse(options["period"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        plans = TenantPlan.objects.select_related("tenant", "plan").order_by("tenant__code")
        if options["centres"]:
            plans = plans.filter(tenant__code__in=options["centres"])
            missing = set(options["centres"]) - {p.tenant.code for p in plans}
            if missing:
                raise CommandError(f"no plan for centre {', '.join(sorted(missing))}")
        else:
            plans = plans.filter(tenant__is_active=True).exclude(tenant__schema_name="public")
        now = timezone.now()
        failures = 0
        for tenant_plan in plans:
            months = [period] if period is not None else periods_due(tenant_plan=tenant_plan, now=now)
            if not months:
                self.stdout.write(f"{tenant_plan.tenant.code}: nothing due")
            for month in months:
                try:
                    outcome = usage_report(tenant=tenant_plan.tenant, period_start=month.start, now=now)
                except BillingError as exc:
                    outcome = ReportOutcome(tenant_plan.tenant, month, "refused", message=exc.message)
                failures += outcome.outcome in ("failed", "refused")
                self.stdout.write(self._line(outcome))
        if failures:
            raise CommandError(f"{failures} month(s) not reported")

    @staticmethod
    def _line(outcome: ReportOutcome) -> str:
        head = f"{outcome.tenant.code} {outcome.period.label}: {outcome.outcome}"
        report = outcome.report
        if report is None:
            return f"{head} ({outcome.message})"
        detail = f"{report.guarantees_issued} guarantee(s), premium {report.premium_volume}, amount {report.amount}"
        if report.stripe_invoice_id:
            detail += f", invoice {report.stripe_invoice_id}"
        if outcome.message:
            detail += f" ({outcome.message})"
        return f"{head}; {detail}"
