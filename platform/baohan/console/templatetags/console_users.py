"""``{% load console_users %}``: whether the signed-in console user may manage a centre's accounts."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied

from baohan.console.access import centre_admin_check
from tenants.models import Tenant

register = template.Library()


@register.filter
def manages_accounts(user: User | AnonymousUser, tenant: Tenant) -> bool:
    """``{% if user|manages_accounts:tenant %}``: the centre's platform admin or its centre staff."""
    try:
        centre_admin_check(user, tenant)
    except PermissionDenied:
        return False
    return True
