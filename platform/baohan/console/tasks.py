"""Console work that runs in the background."""

from __future__ import annotations

from baohan.celery import app


@app.task(name="console.bulk_operation")  # type: ignore[untyped-decorator]
def bulk_operation_task(op_id: int) -> None:
    from baohan.console.operations import bulk_operation_run

    bulk_operation_run(op_id=op_id)
