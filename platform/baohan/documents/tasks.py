"""Document tasks: each runs in the schema of the centre that queued it (refusing to run
without one) and is safe to run twice."""

from __future__ import annotations

from baohan.celery import tenant_task


@tenant_task("documents.policy_generate")  # type: ignore[untyped-decorator]
def policy_generate_task(order_id: int) -> str:
    from baohan.documents.services import policy_generate

    return policy_generate(order_id=order_id).plain_sha256


@tenant_task("documents.policies_backfill")  # type: ignore[untyped-decorator]
def policies_backfill_task() -> int:
    from baohan.documents.services import policies_backfill
    from baohan.ops.due import centre_due_run

    return centre_due_run(job="documents.policies_backfill", run=policies_backfill)
