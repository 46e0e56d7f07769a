"""Celery, observed: each task's outcome is counted (by task, tenant and outcome), its log lines
carry the task id as their request id, and a worker with ``BAOHAN_METRICS_PORT`` set serves
``/metrics`` on that port from its main process (children's samples are shared through
``PROMETHEUS_MULTIPROC_DIR``).

Connected when ``baohan.celery`` is imported, so in every worker, beat and eager run alike.
"""

from __future__ import annotations

import logging
import os
from contextvars import Token
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_ready  # type: ignore[import-untyped]

from baohan.ops import metrics
from baohan.ops.context import NO_VALUE, request_id_var

logger = logging.getLogger(__name__)

_tokens: dict[str, Token[str]] = {}


def _on_prerun(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _tokens[task_id] = request_id_var.set(task_id)


def _on_postrun(task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    token = _tokens.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:  # set in another context (a thread pool): nothing to restore here
            request_id_var.set(NO_VALUE)
    name = getattr(task, "name", None) or "<unknown>"
    # No state: the task raised and the error propagated to the caller (eager runs) — a failure.
    outcome = state.lower() if state else "failure"
    metrics.TASKS.labels(task=name, tenant=_task_tenant(task), outcome=outcome).inc()


def _task_tenant(task: Any) -> str:
    """The schema the task was queued for (tenant-schemas-celery's header), ``public`` without one."""
    if task is None:
        return NO_VALUE
    try:
        from tenant_schemas_celery.app import get_schema_name_from_task

        schema = get_schema_name_from_task(task, {})
    except Exception:  # noqa: BLE001 - a metric label is never worth failing a task
        return NO_VALUE
    return str(schema or "public")


def _on_worker_ready(**kwargs: Any) -> None:
    port = os.environ.get("BAOHAN_METRICS_PORT")
    if not port:
        return
    from prometheus_client import start_http_server

    start_http_server(int(port), registry=metrics.exposition_registry())
    logger.info("Celery metrics on port %s", port)


task_prerun.connect(_on_prerun, dispatch_uid="baohan_ops_task_prerun", weak=False)
task_postrun.connect(_on_postrun, dispatch_uid="baohan_ops_task_postrun", weak=False)
worker_ready.connect(_on_worker_ready, dispatch_uid="baohan_ops_worker_ready", weak=False)
