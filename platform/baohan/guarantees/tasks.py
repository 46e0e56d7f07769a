"""Guarantee tasks: each runs in the schema of the centre that queued it (refusing to run without one)
and is safe to run twice."""

from __future__ import annotations

from baohan.celery import tenant_task


@tenant_task("guarantees.uploads_unattached_sweep")  # type: ignore[untyped-decorator]
def uploads_unattached_sweep_task() -> int:
    from baohan.guarantees.services.uploads import uploads_unattached_sweep
    from baohan.ops.due import centre_due_run

    return centre_due_run(job="guarantees.uploads_unattached_sweep", run=uploads_unattached_sweep)
