"""Hosts map to tenants; nothing crosses from one tenant to another."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context

from baohan.sections.models import Section
from tenants.models import Tenant
from tests.conftest import host_client

pytestmark = pytest.mark.django_db

SITES = {
    "xinjiang": ("新疆维吾尔自治区公共资源交易网", "400-800-5100", ["platform_handoff"]),
    "xuancheng": ("宣城市公共资源交易中心", "400-800-5100", ["ca_key"]),
    "benxi": ("本溪市公共资源交易中心", "400-800-5100", ["password", "sms_code"]),
}


@pytest.mark.parametrize("code", sorted(SITES))
def test_site_endpoint_answers_per_host(code: str) -> None:
    name, hotline, methods = SITES[code]
    response = host_client(f"{code}.localhost").get("/api/v1/site")
    assert response.status_code == 200
    body = response.json()
    tenant = Tenant.objects.get(code=code)
    centre = tenant.current_rule_pack.data["centre"]
    assert body == {
        "region": code,
        "name": name,
        "site_title": centre["site_title"],
        "rule_pack_version": tenant.current_rule_pack.number,
        "rule_pack_label": "2026.12-1",
        "login_methods": methods,
        "hotline": hotline,
        "hotlines": centre["hotlines"],
        "theme": code,
    }


@pytest.mark.parametrize("code", sorted(SITES))
def test_landing_page_shows_the_centres_name_and_hotline(code: str) -> None:
    name, hotline, _ = SITES[code]
    response = host_client(f"{code}.localhost:8000").get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert f'<h1 class="centre-name">{name}</h1>' in page
    assert hotline in page
    for other, (other_name, _, _) in SITES.items():
        if other != code:
            assert other_name not in page


@pytest.mark.parametrize("path", ["/", "/api/v1/site", "/admin/"])
def test_unknown_host_is_404_never_the_public_site(path: str) -> None:
    response = host_client("nowhere.localhost").get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert all(name not in page for name, _, _ in SITES.values())  # not the platform's centre list


def test_platform_host_serves_the_public_site_only() -> None:
    client = host_client("localhost")
    home = client.get("/")
    assert home.status_code == 200
    page = home.content.decode()
    for name, _, _ in SITES.values():
        assert name in page
    assert client.get("/api/v1/site").status_code == 404


def test_inactive_tenant_is_not_served() -> None:
    Tenant.objects.filter(code="benxi").update(is_active=False)
    assert host_client("benxi.localhost").get("/api/v1/site").status_code == 404


def make_section(code: str) -> Section:
    return Section.objects.create(
        code=code,
        name=f"{code} 标段",
        project_type="construction",
        deposit_amount=Decimal("5000.00"),
        deposit_deadline="2030-01-01T00:00:00Z",
        opening_time="2030-01-02T00:00:00Z",
    )


def test_two_tenants_cannot_read_each_others_rows() -> None:
    xinjiang, benxi = Tenant.objects.get(code="xinjiang"), Tenant.objects.get(code="benxi")
    with tenant_context(xinjiang):
        make_section("XJ-SECRET-1")
    with tenant_context(benxi):
        assert not Section.objects.filter(code="XJ-SECRET-1").exists()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sections_section WHERE code = 'XJ-SECRET-1'")
            assert cursor.fetchone() == (0,)
            cursor.execute("SHOW search_path")
            assert cursor.fetchone()[0].split(",")[0].strip('" ') == "benxi"
    with tenant_context(xinjiang):
        assert Section.objects.filter(code="XJ-SECRET-1").count() == 1
    assert "XJ-SECRET-1" in host_client("xinjiang.localhost").get("/").content.decode()
    assert "XJ-SECRET-1" not in host_client("benxi.localhost").get("/").content.decode()


def test_cache_keys_carry_the_tenant() -> None:
    xinjiang, benxi = Tenant.objects.get(code="xinjiang"), Tenant.objects.get(code="benxi")
    with tenant_context(xinjiang):
        cache.set("greeting", "xinjiang-only")
    with tenant_context(benxi):
        assert cache.get("greeting") is None
    with tenant_context(xinjiang):
        assert cache.get("greeting") == "xinjiang-only"


def test_a_session_made_on_one_tenant_is_unknown_on_another() -> None:
    xinjiang, benxi = Tenant.objects.get(code="xinjiang"), Tenant.objects.get(code="benxi")
    with tenant_context(xinjiang):
        session = SessionStore()
        session["who"] = "bidder-of-xinjiang"
        session.create()
        key = session.session_key
    with tenant_context(benxi):
        assert not SessionStore().exists(key)
        assert SessionStore(session_key=key).load() == {}
    with tenant_context(xinjiang):
        assert SessionStore(session_key=key).load() == {"who": "bidder-of-xinjiang"}
