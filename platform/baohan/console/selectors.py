"""Reads for the console: a page of centres' numbers from the public rollup (``baohan.console.rollup``),
and one centre's numbers or orders read in its own schema."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Min, Q, QuerySet, Sum
from django_tenants.utils import tenant_context

from baohan.console.models import CentreRollup, CentreStateFigure
from baohan.console.rollup import rollup_visible
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
    refreshed_at: datetime | None = None  # from the rollup: when its figures were counted (None: not yet)


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


def tenants_figures(*, user: User | AnonymousUser, tenants: Sequence[Tenant]) -> list[TenantFigures]:
    """The figures of a page of centres (with their domains and pack prefetched) as ``user`` may see
    them, read from the rollup: two statements however many centres."""
    ids = [t.pk for t in tenants]
    rows = (
        rollup_visible(CentreStateFigure.objects.filter(tenant_id__in=ids), user=user)
        .order_by()
        .values("tenant_id", "state", "label")
        .annotate(n=Sum("orders"), premium=Sum("premium", filter=Q(state__in=ISSUED_STATES)))
        .order_by("tenant_id", "state")
    )
    by_state: dict[int, list[tuple[str, str, int]]] = {}
    premium: dict[int, Decimal] = {}
    for row in rows:
        if row["n"]:
            by_state.setdefault(row["tenant_id"], []).append((row["state"], row["label"], row["n"]))
        premium[row["tenant_id"]] = premium.get(row["tenant_id"], Decimal("0.00")) + (row["premium"] or 0)
    refreshed = dict(CentreRollup.objects.filter(tenant_id__in=ids).values_list("tenant_id", "refreshed_at"))
    out = []
    for tenant in tenants:
        version = tenant.current_rule_pack
        counts = by_state.get(tenant.pk, [])
        out.append(
            TenantFigures(
                tenant=tenant,
                domains=[d.domain for d in tenant.domains.all()],
                pack_number=version.number if version else None,
                pack_label=version.label if version else "",
                by_state=counts,
                orders=sum(n for _, _, n in counts),
                issued_premium=premium.get(tenant.pk, Decimal("0.00")),
                refreshed_at=refreshed.get(tenant.pk),
            )
        )
    return out


def figures_as_of(*, tenants: QuerySet[Tenant]) -> datetime | None:
    """When the stalest of ``tenants``' figures in the rollup were counted (one statement)."""
    qs = CentreRollup.objects.filter(tenant__in=tenants.order_by().values("pk"))
    found: datetime | None = qs.aggregate(at=Min("refreshed_at"))["at"]
    return found


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
