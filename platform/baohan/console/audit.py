"""Every console action is recorded: who, when, on which centre, what changed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from baohan.console.models import ConsoleAction
from tenants.models import Tenant


def console_action_record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    tenant: Tenant | None = None,
    detail: dict[str, Any] | None = None,
) -> ConsoleAction:
    user = actor if isinstance(actor, User) else None
    return ConsoleAction.objects.create(
        actor=user,
        actor_label=(user.get_username() if user else "命令行")[:200],
        tenant=tenant,
        action=action,
        detail=detail or {},
    )
