"""The console's overview for an issuer's staff on several centres' panels: each centre's queue counts
for their issuer, with a link to that centre's workbench. One query per centre they belong to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest
from django_tenants.utils import tenant_context

from baohan.console.models import ConsoleRole
from baohan.guarantees.models import Order
from baohan.guarantees.selectors import order_list_for_issuer
from baohan.issuerdesk import selectors as sel
from baohan.payments.models import PaymentVoucher
from baohan.rulepacks.models import OrderState
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack

COUNTED = ("review", "vouchers", "issue", "refunds", "payouts", "invoices", "after_sales", "claims", "lines")


@dataclass(frozen=True)
class CentreQueues:
    tenant: Tenant
    issuer_code: str
    issuer_name: str
    url: str
    counts: sel.QueueCounts

    @property
    def total(self) -> int:
        return sum(getattr(self.counts, name) for name in COUNTED)


def _querysets(issuer_code: str) -> list[QuerySet[Any]]:
    return [
        order_list_for_issuer(issuer_code=issuer_code, pending_only=True),
        PaymentVoucher.objects.filter(state=PaymentVoucher.State.SUBMITTED, order__issuer_code=issuer_code),
        Order.objects.filter(issuer_code=issuer_code, state=OrderState.AWAITING_ISSUE),
        sel.refund_queue(issuer_code=issuer_code),
        sel.payout_queue(issuer_code=issuer_code),
        sel.invoice_queue(issuer_code=issuer_code),
        sel.after_sales_queue(issuer_code=issuer_code),
        sel.claim_queue(issuer_code=issuer_code),
        sel.unmatched_lines(issuer_code=issuer_code),
    ]


def queue_counts_at_once(*, issuer_code: str) -> sel.QueueCounts:
    """The workbench's queue counts (as ``selectors.queue_counts``) in a single query of the current schema."""
    parts: list[str] = []
    params: list[Any] = []
    for qs in _querysets(issuer_code):
        sql, args = qs.order_by().values("pk").query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS q)")
        params.extend(args)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    assert row is not None
    return sel.QueueCounts(**{name: int(value) for name, value in zip(COUNTED, row, strict=True)})


def issuer_overview(*, request: HttpRequest, user: User | AnonymousUser) -> list[CentreQueues]:
    """Every (centre, issuer) the console user works for as issuer staff, with the queue counts there."""
    if not isinstance(user, User) or not user.is_authenticated:
        return []
    roles = (
        ConsoleRole.objects.filter(user=user, kind=ConsoleRole.Kind.ISSUER_STAFF, tenant__is_active=True)
        .select_related("tenant")
        .prefetch_related("tenant__domains")
        .order_by("tenant__name", "issuer_code")
    )
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    out = []
    for role in roles:
        tenant = role.tenant
        assert tenant is not None  # an issuer role names its centre (console_role_scope)
        pack = tenant_rule_pack(tenant=tenant)
        issuer = next((i for i in pack.issuers if i.code == role.issuer_code), None)
        domain = next((d.domain for d in tenant.domains.all() if d.is_primary), None) or next(
            (d.domain for d in tenant.domains.all()), ""
        )
        if issuer is None or not domain:
            continue
        with tenant_context(tenant):
            counts = queue_counts_at_once(issuer_code=issuer.code)
        out.append(
            CentreQueues(tenant, issuer.code, issuer.name, f"{request.scheme}://{domain}{suffix}/issuer/", counts)
        )
    return out
