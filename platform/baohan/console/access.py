"""Who may see and do what in the console. Every view asks here; nothing else decides."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from baohan.console.models import ConsoleRole
from tenants.models import Tenant

View = TypeVar("View", bound=Callable[..., HttpResponse])
LOGIN_URL = "/console/login/"


def is_platform_admin(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return (
        bool(user.is_superuser)
        or ConsoleRole.objects.filter(user_id=user.pk, kind=ConsoleRole.Kind.PLATFORM_ADMIN).exists()
    )


def tenants_visible(user: User | AnonymousUser) -> QuerySet[Tenant]:
    """The centres ``user`` may see: all for a platform admin, else those of their roles."""
    qs: QuerySet[Tenant] = Tenant.objects.exclude(schema_name="public")
    if is_platform_admin(user):
        return qs
    if not user.is_authenticated or user.pk is None:
        return qs.none()
    return qs.filter(pk__in=ConsoleRole.objects.filter(user_id=user.pk).values("tenant_id"))


def tenant_for(user: User | AnonymousUser, code: str) -> Tenant:
    """The centre ``code`` if ``user`` may see it; 404 otherwise (another centre is not even named)."""
    tenant = tenants_visible(user).filter(code=code).first()
    if tenant is None:
        raise Http404("没有该交易中心")
    return tenant


def issuer_codes_of(user: User | AnonymousUser, tenant: Tenant) -> list[str] | None:
    """None: every issuer of the centre (admin, centre staff); else the issuers the user stands for."""
    if is_platform_admin(user):
        return None
    roles = ConsoleRole.objects.filter(user_id=user.pk or 0, tenant=tenant)
    if roles.filter(kind=ConsoleRole.Kind.CENTRE_STAFF).exists():
        return None
    return list(roles.filter(kind=ConsoleRole.Kind.ISSUER_STAFF).values_list("issuer_code", flat=True))


def console_page(view: View) -> View:
    """Any console user (a user with at least one role, or a superuser)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), LOGIN_URL)
        if not (is_platform_admin(user) or ConsoleRole.objects.filter(user_id=user.pk or 0).exists()):
            raise PermissionDenied("该账户没有控制台权限")
        return view(request, *args, **kwargs)

    return cast(View, wrapped)


def platform_admin_page(view: View) -> View:
    """Platform admins only: onboarding, bulk operations, billing plans."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), LOGIN_URL)
        if not is_platform_admin(user):
            raise PermissionDenied("仅平台管理员可以操作")
        return view(request, *args, **kwargs)

    return cast(View, wrapped)


def centre_admin_check(user: User | AnonymousUser, tenant: Tenant) -> None:
    """Changing a centre (its pack, theme, credentials): its platform admin or its centre staff."""
    if is_platform_admin(user):
        return
    staff = ConsoleRole.objects.filter(user_id=user.pk or 0, tenant=tenant, kind=ConsoleRole.Kind.CENTRE_STAFF)
    if not staff.exists():
        raise PermissionDenied("没有修改该交易中心的权限")
