"""Usage to Stripe Billing as one invoice per centre and month.

The mechanism: a draft invoice for the month (``POST /v1/invoices``, its own items only:
``pending_invoice_items_behavior=exclude``), one invoice item per fee component with the amount we
computed in ``Decimal`` (``POST /v1/invoiceitems`` with ``invoice=``), then finalize. Every POST
carries an idempotency key derived from the centre, the month and the component
(``usage-<centre>-<YYYY-MM>-<component>``, ``customer-<centre>``), so a retry after a lost answer
(or a lost database write) gets Stripe's first result instead of a second charge. Stripe forgets
idempotency keys after a day, so before creating anything the customer and the month's invoice are
also looked up by their metadata and the invoice's items by their component: a month is never
invoiced twice, however late the retry.

Test mode unless live keys are configured: a ``sk_live_``/``rk_live_`` key is refused unless
``BAOHAN_BILLING_LIVE`` is on.
"""

from __future__ import annotations

import os
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import stripe
from django.conf import settings

from baohan.billing.errors import BillingError

if TYPE_CHECKING:
    from stripe import RequestOptions
    from stripe.params import (
        CustomerCreateParams,
        InvoiceCreateParams,
        InvoiceItemCreateParams,
    )

    from baohan.billing.models import TenantPlan, UsageReport

INVOICE_DAYS_UNTIL_DUE = 30
COMPONENTS = ("monthly", "guarantees", "premium")


def to_fen(amount: Decimal) -> int:
    """Yuan → fen for Stripe, half up (amounts are already at two places; this never truncates)."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def live_allowed() -> bool:
    value = getattr(settings, "BAOHAN_BILLING_LIVE", None)
    if value is None:
        value = os.environ.get("BAOHAN_BILLING_LIVE", "")
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def is_live_key(key: str) -> bool:
    return key.startswith(("sk_live_", "rk_live_"))


def billing_stripe_client() -> stripe.StripeClient:
    key = settings.STRIPE_SECRET_KEY
    if not key:
        raise BillingError("stripe_not_configured", "未配置 Stripe 密钥（STRIPE_SECRET_KEY），无法上报用量")
    if is_live_key(key) and not live_allowed():
        raise BillingError("live_key_refused", "配置的是 Stripe 正式环境密钥；确需正式计费请设置 BAOHAN_BILLING_LIVE=1")
    if settings.STRIPE_API_BASE:  # a stand-in of Stripe's API (tests)
        return stripe.StripeClient(key, base_addresses={"api": settings.STRIPE_API_BASE}, max_network_retries=2)
    return stripe.StripeClient(key, max_network_retries=2)


def customer_ensure(*, client: stripe.StripeClient, tenant_plan: TenantPlan) -> str:
    """The centre's Stripe customer, created once (idempotency key per centre) and stored."""
    if tenant_plan.stripe_customer_id:
        return tenant_plan.stripe_customer_id
    tenant = tenant_plan.tenant
    customer_id = ""
    for customer in client.v1.customers.list(params={"limit": 100}).auto_paging_iter():
        if _plain(customer.metadata).get("tenant") == tenant.code:  # made before, its id lost here
            customer_id = customer.id
            break
    if not customer_id:
        params: CustomerCreateParams = {
            "name": tenant.name,
            "description": f"交易中心 {tenant.code}",
            "metadata": {"tenant": tenant.code, "schema": tenant.schema_name},
            "preferred_locales": ["zh-CN"],
        }
        options: RequestOptions = {"idempotency_key": f"customer-{tenant.code}"}
        customer_id = client.v1.customers.create(params=params, options=options).id
    tenant_plan.stripe_customer_id = customer_id
    type(tenant_plan).objects.filter(pk=tenant_plan.pk).update(stripe_customer_id=customer_id)
    return customer_id


def _plain(metadata: stripe.StripeObject | None) -> dict[str, str]:
    if metadata is None:
        return {}
    return {str(k): str(v) for k, v in metadata.to_dict().items()}


def _key(report: UsageReport, part: str) -> str:
    return f"usage-{report.tenant.code}-{report.period_label}-{part}"


def _metadata(report: UsageReport) -> dict[str, str]:
    return {"tenant": report.tenant.code, "period": report.period_label}


def _invoice_find(*, client: stripe.StripeClient, report: UsageReport) -> stripe.Invoice | None:
    """The month's invoice if an earlier attempt made it (its id may not have reached our database)."""
    found = client.v1.invoices.list(params={"customer": report.stripe_customer_id, "limit": 100})
    for invoice in found.auto_paging_iter():
        meta = _plain(invoice.metadata)
        mine = meta.get("tenant") == report.tenant.code and meta.get("period") == report.period_label
        if mine and invoice.status != "void":
            return invoice
    return None


def _components(report: UsageReport) -> list[tuple[str, Decimal, str]]:
    """(component, amount, description) of each fee that is not zero."""
    month = report.period_label
    rows = [
        ("monthly", report.monthly_amount, f"{month} 平台月费"),
        (
            "guarantees",
            report.guarantees_amount,
            f"{month} 出函 {report.guarantees_issued} 笔 × ¥{report.per_guarantee_fee}",
        ),
        (
            "premium",
            report.premium_amount,
            f"{month} 保费分成 ¥{report.premium_volume} × {report.premium_share.normalize():f}",
        ),
    ]
    return [row for row in rows if row[1] != 0]


def invoice_push(*, client: stripe.StripeClient, report: UsageReport) -> stripe.Invoice:
    """Create (or find), fill and finalize the month's invoice; return it as Stripe has it.
    Progress is written to ``report`` as it goes (the caller saves it)."""
    invoice: stripe.Invoice | None
    if report.stripe_invoice_id:
        invoice = client.v1.invoices.retrieve(report.stripe_invoice_id)
    else:
        invoice = _invoice_find(client=client, report=report)
    if invoice is None:
        params: InvoiceCreateParams = {
            "customer": report.stripe_customer_id,
            "currency": report.currency,
            "collection_method": "send_invoice",
            "days_until_due": INVOICE_DAYS_UNTIL_DUE,
            # Finalized by us once every item is on it, never by Stripe while half built.
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "description": f"电子保函平台服务费 {report.period_label}",
            "metadata": _metadata(report),
        }
        invoice = client.v1.invoices.create(params=params, options={"idempotency_key": _key(report, "invoice")})
    report.stripe_invoice_id = invoice.id
    if invoice.status == "draft":
        listed = client.v1.invoice_items.list(params={"invoice": invoice.id, "limit": 100})
        present = {_plain(item.metadata).get("component"): item.id for item in listed.auto_paging_iter()}
        items = dict(report.stripe_items)
        for component, amount, description in _components(report):
            if component in present:
                items[component] = present[component]
                continue
            item_params: InvoiceItemCreateParams = {
                "customer": report.stripe_customer_id,
                "invoice": invoice.id,
                "amount": to_fen(amount),
                "currency": report.currency,
                "description": description,
                "metadata": {**_metadata(report), "component": component},
            }
            item = client.v1.invoice_items.create(
                params=item_params, options={"idempotency_key": _key(report, component)}
            )
            items[component] = item.id
        report.stripe_items = items
        invoice = client.v1.invoices.finalize_invoice(
            invoice.id, params={"auto_advance": False}, options={"idempotency_key": _key(report, "finalize")}
        )
    return invoice
