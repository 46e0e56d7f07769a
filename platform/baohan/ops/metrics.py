"""Prometheus metrics: request latency by view and tenant, responses by status class, Celery
task outcomes.

Labels stay bounded: a view label is a URL pattern's name (``<unmatched>`` for a path no
pattern matches, never the raw path), a tenant label is a schema name (only onboarded centres
have one; a request for a host we do not serve is ``-``), a status is its class (``2xx``), a
task is a registered task's name and its outcome one of Celery's states.

With several processes (gunicorn workers, Celery's prefork children) each process writes its
samples to ``PROMETHEUS_MULTIPROC_DIR`` and the exposition sums them; without it (development,
tests) the process's own registry is exposed.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

UNMATCHED_VIEW = "<unmatched>"

REQUEST_LATENCY = Histogram(
    "baohan_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, by view and tenant.",
    ["view", "tenant"],
)
RESPONSES = Counter(
    "baohan_http_responses",
    "Responses by tenant and status class.",
    ["tenant", "status"],
)
TASKS = Counter(
    "baohan_celery_tasks",
    "Celery tasks run, by task, tenant and outcome (success, failure, retry, ignored, rejected).",
    ["task", "tenant", "outcome"],
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition_registry() -> CollectorRegistry:
    """Every process's samples when several processes share a folder, else this process's."""
    if multiprocess_dir() is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def exposition() -> tuple[bytes, str]:
    """The text exposition format and its content type."""
    return generate_latest(exposition_registry()), CONTENT_TYPE_LATEST


def status_class(status: int) -> str:
    return f"{status // 100}xx"
