"""Reads about tenants: the rule pack in force, the theme, the onboarded centres."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

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


def tenants_active_search(*, search: str = "") -> QuerySet[Tenant]:
    """Active centres by name (``search`` in the name or code), with their domains: for a page of them."""
    centres = Tenant.objects.filter(is_active=True).exclude(schema_name="public")
    if search:
        centres = centres.filter(Q(name__icontains=search) | Q(code__icontains=search))
    ordered: QuerySet[Tenant] = centres.order_by("name", "code").prefetch_related("domains")
    return ordered


@lru_cache(maxsize=512)
def _version_id(tenant_id: int, number: int) -> int:
    return int(RulePackVersion.objects.values_list("id", flat=True).get(tenant_id=tenant_id, number=number))


def pack_in_force() -> tuple[RulePack, int]:
    """The current tenant's pack and its version number; decisions record that number."""
    tenant = current_tenant()
    if tenant is None or tenant.current_rule_pack is None:
        raise LookupError("no centre is selected")
    return tenant_rule_pack(tenant=tenant), tenant.current_rule_pack.number


def pack_of_version(number: int) -> RulePack:
    """The current tenant's pack as published under ``number`` (immutable, so cached)."""
    tenant = current_tenant()
    if tenant is None:
        raise LookupError("no centre is selected")
    return _rule_pack_from_version(_version_id(tenant.pk, number))
