"""``make run``: the URLs it prints carry the port really served, and every centre gets one staff
account and one issuer-workbench account per issuer on its panel, their sign-ins printed."""

from __future__ import annotations

import socket

import pytest
from django.contrib.auth.models import User
from django_tenants.utils import tenant_context

from baohan.identity.models import UserPhone
from baohan.ops.management.commands.devrun import free_port
from tenants.management.commands.seed_demo import (
    DEMO_ISSUER_PASSWORD,
    DEMO_STAFF_PASSWORD,
    DEMO_STAFF_PHONE,
    Command,
    demo_issuer_phone,
)
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack

pytestmark = pytest.mark.django_db


def test_a_port_in_use_is_skipped() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("0.0.0.0", 0))  # noqa: S104 - as runserver would
        busy.listen()
        port = busy.getsockname()[1]
        assert free_port(port) != port
        assert free_port(port) > port


@pytest.mark.parametrize("code", ["benxi", "xinjiang"])
def test_each_centre_gets_a_staff_and_an_issuer_account_per_issuer(code: str) -> None:
    tenant = Tenant.objects.get(code=code)
    with tenant_context(tenant):
        pack = tenant_rule_pack(tenant=tenant)
        lines = Command()._desk_accounts(tenant=tenant, pack=pack, port=8123)
        staff = UserPhone.objects.select_related("user").get(phone=DEMO_STAFF_PHONE).user
        assert staff.is_staff
        assert staff.check_password(DEMO_STAFF_PASSWORD)
        for index, issuer in enumerate(pack.issuers, start=1):
            member: User = UserPhone.objects.select_related("user").get(phone=demo_issuer_phone(index)).user
            assert member.issuer_member.issuer_code == issuer.code
            assert member.check_password(DEMO_ISSUER_PASSWORD)
        again = Command()._desk_accounts(tenant=tenant, pack=pack, port=8123)  # run twice: kept, not doubled
        assert UserPhone.objects.filter(phone=DEMO_STAFF_PHONE).count() == 1
    assert again == lines
    assert (
        f"staff sign-in: http://{code}.localhost:8123/staff/login/ {DEMO_STAFF_PHONE} / {DEMO_STAFF_PASSWORD}" in lines
    )
    issuer_lines = [line for line in lines if "/issuer/login/" in line]
    assert len(issuer_lines) == len(pack.issuers)
    assert all(":8123/issuer/login/" in line and DEMO_ISSUER_PASSWORD in line for line in issuer_lines)
