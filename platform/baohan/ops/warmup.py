"""A new web process readies itself before it accepts its first request.

Without this, the first requests a gunicorn worker answers pay for what Django does lazily: the
view modules the URL patterns import, DRF's and the serializers' set-up, the first database and
Redis connections, the host → centre lookup and the centre's rule pack. With worker recycling
(``GUNICORN_MAX_REQUESTS``) that cost lands on live requests at every recycle. ``process_warm``
pays it in gunicorn's ``post_worker_init`` hook instead, while the other workers carry the load:
it resolves every URL pattern, makes the documents' storage client, and sends ``/readyz`` and one
centre's ``/api/v1/site`` through the application itself (no socket). A failure is logged and
ignored: the worker then warms up on live requests, as it would have without this.
"""

from __future__ import annotations

import io
import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

WARMUP_REQUEST_ID = "warmup"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _wsgi_get(app: WsgiApp, *, host: str, path: str) -> str:
    """GET ``path`` on ``host`` through ``app``; the status line answered."""
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        status.append(line)
        return lambda _data: None

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": host,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "HTTP_ACCEPT": "application/json",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_REQUEST_ID": WARMUP_REQUEST_ID,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "https",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    body = app(environ, start_response)
    try:
        for _chunk in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return status[0] if status else ""


def process_warm(app: WsgiApp) -> dict[str, str]:
    """Ready this process: URL patterns resolved, connections open, one centre's site answered.

    Returns what each step answered (for the log line and the tests)."""
    from django.conf import settings
    from django.db import close_old_connections, connection
    from django.urls import get_resolver

    started = time.perf_counter()
    done: dict[str, str] = {}
    for urlconf in (settings.ROOT_URLCONF, getattr(settings, "PUBLIC_SCHEMA_URLCONF", settings.ROOT_URLCONF)):
        resolver = get_resolver(urlconf)
        resolver.url_patterns  # noqa: B018 - imports every view module the patterns name
        resolver._populate()
        done[urlconf] = "resolved"
    platform_host = next(iter(getattr(settings, "PLATFORM_HOSTS", []) or ["localhost"]))
    done["/readyz"] = _wsgi_get(app, host=platform_host, path="/readyz")
    done["storage"] = _storage_warm()
    centre_host = _centre_host()
    if centre_host:
        done["/api/v1/site"] = _wsgi_get(app, host=centre_host, path="/api/v1/site")
    # The warm-up's connection goes back to the pool (or is closed): the process starts clean.
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    close_old_connections()
    connection.close()
    logger.info(
        "worker warmed in %.0f ms", (time.perf_counter() - started) * 1000, extra={"event": "worker_warm", **done}
    )
    return done


def _storage_warm() -> str:
    """The documents' storage client made (S3: boto3's modules and service model loaded), no request."""
    from django.core.files.storage import default_storage

    bucket = getattr(default_storage, "bucket", None)  # S3Storage builds its client here; others have none
    return type(default_storage).__name__ if bucket is None else f"{type(default_storage).__name__}:{bucket.name}"


def _centre_host() -> str | None:
    """One centre's primary host, if any centre exists (one query, public schema)."""
    from tenants.models import Domain

    host: str | None = (
        Domain.objects.filter(is_primary=True, tenant__is_active=True)
        .exclude(tenant__schema_name="public")
        .order_by("pk")
        .values_list("domain", flat=True)
        .first()
    )
    return host


def process_warm_safely(app: WsgiApp) -> None:
    """``process_warm`` that never stops a worker from serving: failures are logged, not raised."""
    try:
        process_warm(app)
    except Exception:
        logger.warning("worker warm-up failed; the first requests will warm it", exc_info=True)
