"""The daily billing run: beat queues it once, in the public schema, and it reports every centre's
ended, unreported months (safe to run twice: a reported month sends nothing)."""

from __future__ import annotations

from collections import Counter

from django.utils import timezone

from baohan.celery import app


@app.task(name="billing.report_due")  # type: ignore[untyped-decorator]
def report_due_task() -> dict[str, int]:
    from baohan.billing.services import billing_report_due

    return dict(Counter(o.outcome for o in billing_report_due(now=timezone.now())))
