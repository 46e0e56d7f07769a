"""The outbox sweep: beat runs it in the public schema; it relays only the centres whose marker
says they have unsent rows (baohan/outbox/services.py)."""

from __future__ import annotations

from baohan.celery import app


@app.task(name="outbox.sweep")  # type: ignore[untyped-decorator]
def outbox_sweep_task() -> dict[str, int]:
    from baohan.outbox.services import outbox_sweep

    return outbox_sweep()
