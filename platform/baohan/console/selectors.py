"""Reads for the console: each centre's numbers, read in its own schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Order
from baohan.guarantees.selectors import state_label
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack


@dataclass
class TenantFigures:
    tenant: Tenant
    domains: list[str]
    pack_number: int | None
    pack_label: str
    by_state: list[tuple[str, str, int]] = field(default_factory=list)  # (state, label, count)
    orders: int = 0
    issued_premium: Decimal = Decimal("0.00")


ISSUED_STATES = ("issued", "surrendered")


def tenant_figures(*, tenant: Tenant, issuer_codes: list[str] | None = None) -> TenantFigures:
    """Orders by status (in the centre's words) and the premium of the guarantees issued, read in the
    centre's schema; ``issuer_codes`` narrows them to those issuers' orders."""
    version = tenant.current_rule_pack
    figures = TenantFigures(
        tenant=tenant,
        domains=[d.domain for d in tenant.domains.all()],
        pack_number=version.number if version else None,
        pack_label=version.label if version else "",
    )
    if version is None:
        return figures
    pack = tenant_rule_pack(tenant=tenant)
    with tenant_context(tenant):
        qs = Order.objects.all()
        if issuer_codes is not None:
            qs = qs.filter(issuer_code__in=issuer_codes)
        counts = dict(qs.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
        premium = qs.filter(state__in=ISSUED_STATES).aggregate(total=Sum("premium"))["total"]
    figures.by_state = [(state, state_label(pack=pack, state=state), n) for state, n in sorted(counts.items())]
    figures.orders = sum(counts.values())
    figures.issued_premium = premium or Decimal("0.00")
    return figures


@dataclass(frozen=True)
class OrderRow:
    number: str
    section: str
    enterprise: str
    issuer_code: str
    premium: Decimal
    state: str
    state_label: str
    created_at: object


def tenant_orders(
    *, tenant: Tenant, issuer_codes: list[str] | None, search: str = "", state: str = "", limit: int = 100
) -> list[OrderRow]:
    """A centre's orders, newest first, narrowed to ``issuer_codes`` (None: all)."""
    pack = tenant_rule_pack(tenant=tenant)
    with tenant_context(tenant):
        qs = Order.objects.exclude(state="draft").select_related("section", "enterprise").order_by("-id")
        if issuer_codes is not None:
            qs = qs.filter(issuer_code__in=issuer_codes)
        if search:
            qs = qs.filter(number__icontains=search) | qs.filter(section__code__icontains=search)
        if state:
            qs = qs.filter(state=state)
        return [
            OrderRow(
                o.number,
                o.section.code,
                o.enterprise.name,
                o.issuer_code,
                o.premium,
                o.state,
                state_label(pack=pack, state=o.state),
                o.created_at,
            )
            for o in qs[:limit]
        ]
