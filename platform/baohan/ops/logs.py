"""Structured logs: one JSON object per line, each carrying the request id and the tenant.

Production's ``LOGGING`` puts ``ContextFilter`` and ``JsonFormatter`` on its one handler;
gunicorn's own loggers use the same formatter (``baohan.ops.gunicorn_conf``). Importing this
module needs no Django settings.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from baohan.ops.context import current_request_id, current_tenant

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is kept.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``tenant`` to every record (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        if not hasattr(record, "tenant"):
            record.tenant = current_tenant()
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", "tenant", ...extra, "exc"}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
            "tenant": getattr(record, "tenant", None) or current_tenant(),
        }
        # Plain values given with ``extra=`` (status codes, durations …). Objects are left out: the
        # ``request`` Django attaches would print its query string, which may carry a token.
        for key, value in record.__dict__.items():
            plain = isinstance(value, str | int | float | bool) or value is None
            if plain and key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)
