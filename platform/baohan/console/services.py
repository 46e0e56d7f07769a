"""Console accounts: public-schema users and their roles."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from baohan.console.audit import console_action_record
from baohan.console.models import ConsoleRole
from baohan.guarantees.errors import InvalidInput
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack

DEMO_CONSOLE_USER = "console"
DEMO_CONSOLE_PASSWORD = "console-pass-2026"  # noqa: S105 - a published development password


def console_user_grant(
    *, username: str, kind: str, password: str = "", centre: str = "", issuer: str = "", actor: User | None = None
) -> ConsoleRole:
    """Create the console user if new (with ``password``) and give them a role."""
    if kind not in ConsoleRole.Kind.values:
        raise InvalidInput("invalid", f"角色可选：{'、'.join(ConsoleRole.Kind.values)}", field="kind")
    tenant = None
    if kind != ConsoleRole.Kind.PLATFORM_ADMIN:
        tenant = Tenant.objects.filter(code=centre).first()
        if tenant is None:
            raise InvalidInput("unknown_centre", f"交易中心 {centre or '（空）'} 不存在", field="centre")
    if kind == ConsoleRole.Kind.ISSUER_STAFF:
        assert tenant is not None
        if issuer not in {i.code for i in tenant_rule_pack(tenant=tenant).issuers}:
            raise InvalidInput("unknown_issuer", f"出函机构 {issuer or '（空）'} 不在该中心的名单中", field="issuer")
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        if user is None:
            if len(password) < 10:
                raise InvalidInput("weak_password", "密码至少10位", field="password")
            user = User.objects.create_user(username=username, password=password)
        role, _ = ConsoleRole.objects.get_or_create(
            user=user,
            kind=kind,
            tenant=tenant,
            issuer_code=issuer if kind == ConsoleRole.Kind.ISSUER_STAFF else "",
        )
        console_action_record(
            actor=actor,
            action="role_grant",
            tenant=tenant,
            detail={"username": username, "kind": kind, "issuer": role.issuer_code},
        )
    return role
