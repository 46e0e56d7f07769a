"""What a log line or a metric is about: the request (or task) id and the tenant's schema.

The request id lives in a context variable, set by ``RequestContextMiddleware`` for a request
and by a Celery signal for a task. The tenant is read from the database connection, which
django-tenants (for a request) and tenant-schemas-celery (for a task) point at the centre's
schema, so management commands that switch schemas are covered too.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

NO_VALUE = "-"
# An incoming X-Request-ID is kept only when it looks like an id: anything else (too long,
# spaces, control characters) would let a client write into our logs; a fresh one replaces it.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")

request_id_var: ContextVar[str] = ContextVar("baohan_request_id", default=NO_VALUE)


def request_id_from_header(value: str | None) -> str:
    """The caller's request id if it is a plausible one, else a new one."""
    if value and _REQUEST_ID_RE.match(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str:
    return request_id_var.get()


def current_tenant() -> str:
    """The schema the default connection is set to, or ``-`` before Django is ready."""
    try:
        from django.db import connection

        schema = getattr(connection, "schema_name", None)
    except Exception:  # noqa: BLE001 - settings not configured yet (start-up, gunicorn's master)
        return NO_VALUE
    return str(schema) if schema else NO_VALUE
