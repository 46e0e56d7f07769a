"""Reads about tenants: the rule pack in force, the theme, the onboarded centres."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import connection

from baohan.rulepacks.models import RulePack
from tenants.models import RulePackVersion, Tenant


@lru_cache(maxsize=512)
def _rule_pack_from_version(version_id: int) -> RulePack:
    # Published versions are immutable, so a version's parsed pack can be kept for the process.
    data = RulePackVersion.objects.values_list("data", flat=True).get(pk=version_id)
    return RulePack.model_validate(data)


def tenant_rule_pack(*, tenant: Tenant) -> RulePack:
    """The pack in force for ``tenant``."""
    if tenant.current_rule_pack_id is None:
        raise LookupError(f"tenant {tenant.code!r} has no rule pack")
    return _rule_pack_from_version(tenant.current_rule_pack_id)


def current_tenant() -> Tenant | None:
    """The tenant the connection is set to, or None on the public schema."""
    tenant: Any = getattr(connection, "tenant", None)
    return tenant if isinstance(tenant, Tenant) else None


def current_rule_pack() -> RulePack | None:
    tenant = current_tenant()
    return tenant_rule_pack(tenant=tenant) if tenant is not None else None


def tenant_list_active() -> list[Tenant]:
    return list(Tenant.objects.filter(is_active=True).exclude(schema_name="public").prefetch_related("domains"))
