"""Health, metrics and request context, in front of every other middleware.

``HealthMiddleware`` answers ``/healthz`` (the process is alive: no database), ``/readyz`` (the
database answers ``SELECT 1``, on a fresh connection after a failed check, so it recovers by
itself after a PostgreSQL restart; Redis too when ``BAOHAN_READYZ_CHECKS`` names it) and ``/metrics``
(Prometheus) before the tenant lookup and before the HTTPS redirect, so probes and scrapers reach
them on any host, the pod's own address included. ``/metrics`` is answered only on
``BAOHAN_METRICS_PORT`` when that is set (gunicorn listens there too; the Service the ingress uses
does not expose it) and only with ``Authorization: Bearer <BAOHAN_METRICS_TOKEN>`` when that is set.

``RequestContextMiddleware`` gives each request an id (the caller's ``X-Request-ID`` when it is a
plausible one), returns it in ``X-Request-ID``, times the request into the latency histogram by
view and tenant, and writes one access log line when ``BAOHAN_ACCESS_LOG`` is on.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import request_finished
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from baohan.ops import metrics
from baohan.ops.context import NO_VALUE, request_id_from_header, request_id_var

HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
access_logger = logging.getLogger("baohan.access")
logger = logging.getLogger(__name__)

Handler = Callable[[HttpRequest], HttpResponseBase]


class HealthMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info.rstrip("/") or "/"
        if path not in HEALTH_PATHS:
            return self.get_response(request)
        if path == "/healthz":
            return JsonResponse({"status": "ok"})
        if path == "/readyz":
            return readiness()
        if not metrics_port_matches(request):
            return self.get_response(request)  # an ordinary path on this listener (404 by routing)
        token = getattr(settings, "BAOHAN_METRICS_TOKEN", "")
        given = request.headers.get("Authorization", "").encode()
        if token and not hmac.compare_digest(given, f"Bearer {token}".encode()):
            return HttpResponse("metrics need the scrape token\n", status=401, content_type="text/plain")
        body, content_type = metrics.exposition()
        return HttpResponse(body, content_type=content_type)


def metrics_port_matches(request: HttpRequest) -> bool:
    port = str(getattr(settings, "BAOHAN_METRICS_PORT", "") or "")
    return not port or request.META.get("SERVER_PORT") == port


def readiness() -> JsonResponse:
    checks = {"database": _database_check()}
    if "redis" in getattr(settings, "BAOHAN_READYZ_CHECKS", ()):
        checks["redis"] = _redis_check()
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _database_check() -> str:
    try:
        connection.set_schema_to_public()  # type: ignore[attr-defined]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the kind is enough to say
        logger.warning("readiness: database check failed: %s", type(exc).__name__)
        _database_connection_drop()
        return f"error: {type(exc).__name__}"
    return "ok"


def _database_connection_drop() -> None:
    """Close this thread's connection after a failed check: one broken by a PostgreSQL restart
    would otherwise be kept (persistent connections) and fail every later check, so /readyz
    would never recover without restarting the process. The next check connects afresh."""
    try:
        connection.close()
    except Exception as exc:  # noqa: BLE001 - closing a dead connection may fail too; it is dropped anyway
        logger.debug("readiness: closing the broken connection: %s", type(exc).__name__)
        connection.connection = None


_redis_clients: dict[str, Any] = {}  # one client (and connection pool) per URL and process


def _redis_check() -> str:
    url = getattr(settings, "CELERY_BROKER_URL", "") or getattr(settings, "REDIS_URL", "")
    if not url:
        return "error: no REDIS_URL"
    try:
        client = _redis_clients.get(url)
        if client is None:
            import redis

            client = _redis_clients[url] = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        logger.warning("readiness: redis check failed: %s", type(exc).__name__)
        return f"error: {type(exc).__name__}"
    return "ok"


class RequestContextMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.access_log = bool(getattr(settings, "BAOHAN_ACCESS_LOG", False))

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = request_id_from_header(request.headers.get("X-Request-ID"))
        # Kept until the response is closed (request_finished), so that Django's own "Not Found" and
        # "Internal Server Error" lines, written after the middleware chain returns, carry it too.
        request_id_var.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        response["X-Request-ID"] = request_id
        view, tenant = _labels(request)
        metrics.REQUEST_LATENCY.labels(view=view, tenant=tenant).observe(elapsed)
        metrics.RESPONSES.labels(tenant=tenant, status=metrics.status_class(response.status_code)).inc()
        if self.access_log:
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,  # never the query string: it may carry codes or tokens
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                    "view": view,
                },
            )
        return response


def _request_id_forget(**kwargs: Any) -> None:
    request_id_var.set(NO_VALUE)


request_finished.connect(_request_id_forget, dispatch_uid="baohan_ops_request_id_forget")


def _labels(request: HttpRequest) -> tuple[str, str]:
    match = getattr(request, "resolver_match", None)
    view = match.view_name if match is not None else metrics.UNMATCHED_VIEW
    tenant = getattr(getattr(request, "tenant", None), "schema_name", None) or NO_VALUE
    return str(view), str(tenant)
