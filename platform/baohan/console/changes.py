"""What a new pack version changes, key by key: for the confirmation pages and the action log."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from django.utils import timezone

MAX_CHANGES = 40
_MONTH_LABEL = re.compile(r"^(\d{4}\.\d{2})-(\d+)$")


def _flat(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flat(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for index, item in enumerate(value):
            _flat(item, f"{path}[{index}]", out)
    else:
        out[path] = value


def _shown(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "…"


def _data(source: str) -> Any:
    try:
        return yaml.safe_load(source) or {}
    except yaml.YAMLError:
        return {}


def pack_changes(*, old_source: str, new_source: str) -> list[dict[str, str]]:
    """Each key whose value differs: {"key", "before", "after"} ("" for a key added or removed);
    at most MAX_CHANGES (then one row saying how many more)."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    _flat(_data(old_source), "", before)
    _flat(_data(new_source), "", after)
    keys = [*before, *(k for k in after if k not in before)]
    rows = [
        {"key": key, "before": _shown(before.get(key)), "after": _shown(after.get(key))}
        for key in keys
        if before.get(key) != after.get(key)
    ]
    if len(rows) > MAX_CHANGES:
        extra = len(rows) - MAX_CHANGES
        rows = [*rows[:MAX_CHANGES], {"key": f"……另有 {extra} 处", "before": "", "after": ""}]
    return rows


def version_label_next(*, taken: list[str]) -> str:
    """The next free label of this month: ``2026.12-1``, ``2026.12-2``, …"""
    month = f"{timezone.localdate():%Y.%m}"
    numbers = [int(m.group(2)) for m in map(_MONTH_LABEL.match, taken) if m and m.group(1) == month]
    return f"{month}-{max(numbers, default=0) + 1}"
