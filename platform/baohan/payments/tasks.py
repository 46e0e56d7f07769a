"""Money tasks. Each runs in the schema of the centre that queued it and refuses to run
without one (a task with no tenant would otherwise run in ``public``); each is safe to run
twice. Beat has one schedule; ``payments.fan_out`` queues the named task once per centre."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from baohan.celery import app, tenant_task


@app.task(name="payments.fan_out")  # type: ignore[untyped-decorator]
def fan_out(task_name: str) -> int:
    """Queue ``task_name`` once in every active centre (run by beat, in ``public``)."""
    from tenants.selectors import tenant_list_active

    task = app.tasks[task_name]
    count = 0
    for tenant in tenant_list_active():
        with tenant_context(tenant):
            task.delay()
        count += 1
    return count


@tenant_task("payments.statements_match")  # type: ignore[untyped-decorator]
def statements_match_task() -> dict[str, int]:
    from baohan.payments.services.intake import statement_lines_match

    return statement_lines_match().outcomes


@tenant_task("payments.deadlines")  # type: ignore[untyped-decorator]
def deadlines_task() -> dict[str, int]:
    from baohan.payments.services.deadlines import orders_expire, payment_reminders_send

    return {"expired": orders_expire(), "reminded": payment_reminders_send()}


@tenant_task("payments.online_payouts_send")  # type: ignore[untyped-decorator]
def online_payouts_task() -> int:
    from baohan.payments.services.online import online_payouts_send

    return online_payouts_send()


@tenant_task("payments.settled")  # type: ignore[untyped-decorator]
def payments_settled_task(payment_ids: list[int]) -> int:
    from baohan.payments.services.notices import payments_settled_notify

    return payments_settled_notify(payment_ids=payment_ids)
