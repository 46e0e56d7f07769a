"""Console work that runs in the background."""

from __future__ import annotations

from baohan.celery import app, tenant_task


@app.task(name="console.bulk_operation")  # type: ignore[untyped-decorator]
def bulk_operation_task(op_id: int) -> bool:
    """Run a bulk operation (public schema); one already claimed is not run twice."""
    from baohan.console.operations import bulk_operation_run

    return bulk_operation_run(op_id=op_id)


@app.task(name="console.bulk_operations_recover")  # type: ignore[untyped-decorator]
def bulk_operations_recover_task() -> dict[str, list[int]]:
    """Beat's sweep (public schema): queue again a bulk operation whose publish was lost, fail one
    whose worker died (baohan/console/operations.py)."""
    from baohan.console.operations import bulk_operations_recover

    recovered = bulk_operations_recover()
    return {"requeued": recovered.requeued, "failed": recovered.failed}


@tenant_task("console.rollup")  # type: ignore[untyped-decorator]
def rollup_task() -> str:
    """Recompute the current centre's figures in the console's rollup (queued by beat where an
    order's move marked the centre due, ``baohan.ops.due``)."""
    from baohan.console.rollup import ROLLUP_JOB, centre_rollup_refresh
    from baohan.ops.due import centre_due_run
    from tenants.selectors import current_tenant

    tenant = current_tenant()
    assert tenant is not None  # a tenant task runs in a centre
    return centre_due_run(job=ROLLUP_JOB, run=lambda: centre_rollup_refresh(tenant=tenant).refreshed_at.isoformat())
