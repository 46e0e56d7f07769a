"""Audit rows for identity changes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from baohan.identity.models import AccountEvent


def account_event_record(
    *,
    user: User | None,
    kind: str,
    actor_kind: str = "bidder",
    actor_label: str = "",
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AccountEvent:
    return AccountEvent.objects.create(
        user=user,
        kind=kind,
        actor_kind=actor_kind,
        actor_label=actor_label[:200],
        from_state=from_state,
        to_state=to_state,
        reason=reason[:500],
        data=data or {},
    )
