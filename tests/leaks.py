"""Everything the suite shows the outside world, kept for one last check: no ID or bank account
number (every value stored in an encrypted field) may appear unmasked in a response body or a
log line. ``test_zz_sensitive_numbers`` runs last and reads what was collected here."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.test import Client

from baohan.identity import fields

SECRETS: set[str] = set()
BODIES: list[tuple[str, bytes]] = []
LOG_LINES: list[str] = []
# Hand-off keys are secrets too, but not numbers a person owns; they are checked the same way.
MIN_LENGTH = 6


def _remember(value: str) -> None:
    try:
        data = json.loads(value)
    except ValueError:
        data = value
    values = data.values() if isinstance(data, dict) else [data]
    for item in values:
        text = str(item)
        if len(text) >= MIN_LENGTH:
            SECRETS.add(text)


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            LOG_LINES.append(self.format(record))
        except Exception:  # noqa: BLE001 - a log line that cannot be formatted is not shown either
            return


def install() -> None:
    encrypt = fields.encrypt

    def recording_encrypt(value: str) -> str:
        _remember(value)
        return encrypt(value)

    fields.encrypt = recording_encrypt  # type: ignore[assignment]

    request = Client.request

    def recording_request(self: Client, **kwargs: Any) -> Any:
        response = request(self, **kwargs)
        if not getattr(response, "streaming", False):
            BODIES.append((str(kwargs.get("PATH_INFO", "")), bytes(response.content)))
        return response

    Client.request = recording_request  # type: ignore[method-assign]

    handler = _Collect(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
