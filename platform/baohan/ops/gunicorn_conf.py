"""gunicorn's configuration for the web pods: ``gunicorn -c python:baohan.ops.gunicorn_conf baohan.wsgi``.

Everything comes from the environment (the chart sets it):

- ``PORT`` (8000): the application's listener, the one the Service and the ingress use;
- ``BAOHAN_METRICS_PORT``: a second listener, where ``/metrics`` is answered (see
  ``baohan.ops.middleware``); the Service for the ingress does not route to it;
- ``WEB_CONCURRENCY`` (2) worker processes, ``GUNICORN_THREADS`` (4) threads each,
  ``GUNICORN_TIMEOUT`` (60 s) per request, ``GUNICORN_MAX_REQUESTS`` (100,000, jittered by up to
  half, so workers never recycle together) before a worker is recycled: a guard against slow leaks,
  rare enough to stay out of p99, and each new worker readies itself before it accepts a request
  (``post_worker_init``, ``baohan.ops.warmup``; ``GUNICORN_WARMUP=0`` turns that off);
- ``PROMETHEUS_MULTIPROC_DIR``: where workers share metric samples; emptied at start, and a
  dead worker's samples are merged (``mark_process_dead``).

Connections to PostgreSQL: each worker process keeps its own pool of at most
``DATABASE_POOL_MAX_SIZE`` connections (the settings' ``DATABASES``), opened after the fork (the
application is not preloaded), so a pod holds at most ``WEB_CONCURRENCY`` x
``DATABASE_POOL_MAX_SIZE``. With one connection per thread (the chart's default: 4 and 4) no
request waits for one. A worker that exits closes its pool.

gunicorn's own log lines are JSON like the application's; there is no gunicorn access log (the
application writes one line per request, with its request id and tenant).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

_port = os.environ.get("PORT", "8000")
_metrics_port = os.environ.get("BAOHAN_METRICS_PORT", "")

bind = [f"0.0.0.0:{_port}"] + ([f"0.0.0.0:{_metrics_port}"] if _metrics_port and _metrics_port != _port else [])
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = max_requests // 2
# Heartbeat files in memory: a container's /tmp may be a slow or read-only layer.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
accesslog = None
# No control socket (gunicornc): nothing in a pod uses it, and the root filesystem is read-only.
control_socket_disable = True
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "baohan.ops.logs.ContextFilter"}},
    "formatters": {"json": {"()": "baohan.ops.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["context"],
            "stream": "ext://sys.stdout",
        }
    },
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
    },
}


def on_starting(server: Any) -> None:
    """Start with an empty metrics folder: samples of a previous run's processes are stale."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        path = Path(folder)
        if path.is_dir():
            for child in path.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        path.mkdir(parents=True, exist_ok=True)


def post_worker_init(worker: Any) -> None:
    """Ready the new worker (URL patterns, connections, one centre's site) before it accepts requests."""
    if os.environ.get("GUNICORN_WARMUP", "1") != "0":
        from baohan.ops.warmup import process_warm_safely

        process_warm_safely(worker.wsgi)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def worker_exit(server: Any, worker: Any) -> None:
    """Close this worker's connection pool: PostgreSQL sees its sessions end, not vanish."""
    from django.db import connections

    for conn in connections.all():
        close_pool = getattr(conn, "close_pool", None)
        if close_pool is not None:
            # An exiting worker: nothing left to do about a failure.
            with contextlib.suppress(Exception):
                close_pool()
