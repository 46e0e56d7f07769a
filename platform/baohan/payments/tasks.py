"""Money tasks. Each runs in the schema of the centre that queued it and refuses to run
without one (a task with no tenant would otherwise run in ``public``); each is safe to run
twice. Beat has one schedule; ``payments.fan_out`` queues the named task in the centres where
it is due, and ``payments.fan_out_all`` visits every centre once a day (``baohan/ops/due.py``)."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from baohan.celery import app, tenant_task


@app.task(name="payments.fan_out")  # type: ignore[untyped-decorator]
def fan_out(task_name: str) -> int:
    """Queue the tenant task ``task_name`` in each centre where it is due, and only there (run by
    beat, in ``public``); how many centres. Nothing due: one statement, however many centres."""
    from baohan.ops.due import centre_due_fan_out

    return centre_due_fan_out(job=task_name)


@app.task(name="payments.fan_out_all")  # type: ignore[untyped-decorator]
def fan_out_all() -> int:
    """The daily safety net (beat, in ``public``): every active centre recomputes when each periodic
    job is next due there from its own data, so a missed mark delays work by at most a day."""
    from tenants.selectors import tenant_list_active

    count = 0
    for tenant in tenant_list_active():
        with tenant_context(tenant):
            due_refresh_task.delay()
        count += 1
    return count


@tenant_task("payments.due_refresh")  # type: ignore[untyped-decorator]
def due_refresh_task() -> dict[str, str]:
    from baohan.ops.due import centre_due_refresh

    return centre_due_refresh()


@tenant_task("payments.statements_match")  # type: ignore[untyped-decorator]
def statements_match_task() -> dict[str, int]:
    from baohan.ops.due import centre_due_run
    from baohan.payments.services.intake import statement_lines_match

    return centre_due_run(job="payments.statements_match", run=lambda: statement_lines_match().outcomes)


@tenant_task("payments.deadlines")  # type: ignore[untyped-decorator]
def deadlines_task() -> dict[str, int]:
    from baohan.ops.due import centre_due_run
    from baohan.payments.services.deadlines import orders_expire, payment_reminders_send

    return centre_due_run(
        job="payments.deadlines", run=lambda: {"expired": orders_expire(), "reminded": payment_reminders_send()}
    )


@tenant_task("payments.online_payouts_send")  # type: ignore[untyped-decorator]
def online_payouts_task() -> int:
    from baohan.ops.due import centre_due_run
    from baohan.payments.services.online import online_payouts_send

    return centre_due_run(job="payments.online_payouts_send", run=online_payouts_send)


@tenant_task("payments.settled")  # type: ignore[untyped-decorator]
def payments_settled_task(payment_ids: list[int]) -> int:
    from baohan.payments.services.notices import payments_settled_notify

    return payments_settled_notify(payment_ids=payment_ids)
