"""``{% tenant_billing_card tenant %}``: the billing card of a centre's console page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from baohan.billing.selectors import tenant_billing
from baohan.console.access import is_platform_admin, issuer_codes_of

register = template.Library()


@register.inclusion_tag("console/billing_card.html", takes_context=True)
def tenant_billing_card(context: template.Context, tenant: Any) -> dict[str, Any]:
    """Shown to platform admins and the centre's staff; nothing for issuer staff."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or issuer_codes_of(user, tenant) is not None:
        return {"billing": None}
    return {
        "tenant": tenant,
        "billing": tenant_billing(tenant=tenant, now=timezone.now()),
        "console_admin": is_platform_admin(user),
    }
