"""Tenancy at the cost of one statement: a warm request to a centre reads no tenancy row and sets the
search path once; a change to a centre (its pack, its domains) is seen by the very next request;
each host gets its own centre, never another's entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.guarantees.api.auth import USE_RECORDED_EVERY
from baohan.guarantees.models import ApiCredential
from tenants.services import tenant_onboard
from tests.api import issuer_api, tenant
from tests.conftest import paytest_pack_text

pytestmark = pytest.mark.django_db

TENANCY_TABLES = ("tenants_domain", "tenants_tenant", "tenants_rulepackversion")


def statements(client: Client, path: str) -> tuple[Any, list[str]]:
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, [q["sql"] for q in captured.captured_queries]


def tenancy(sql: list[str]) -> list[str]:
    return [s for s in sql if s.startswith("SET search_path") or any(t in s for t in TENANCY_TABLES)]


def test_a_warm_request_costs_one_statement_of_tenancy() -> None:
    client = Client(HTTP_HOST="benxi.localhost")
    client.get("/")
    response, sql = statements(client, "/")
    assert response.status_code == 200
    assert tenancy(sql) == ['SET search_path = "benxi","public"']
    assert len(sql) == 2, sql  # the path, then the page's one read of sections
    response, sql = statements(client, "/api/v1/site")
    assert response.status_code == 200
    assert response.json()["region"] == "benxi"
    assert sql == []  # the pack in force is kept by version, the centre by host


def test_a_cold_host_is_read_once_then_served_from_the_cache() -> None:
    caches["global"].clear()
    client = Client(HTTP_HOST="xuancheng.localhost")
    _response, sql = statements(client, "/api/v1/site")
    lookups = [s for s in sql if "tenants_domain" in s]
    assert len(lookups) == 1
    assert "source_text" not in lookups[0]  # never the pack's text or body with it
    assert '"tenants_rulepackversion"."data"' not in lookups[0]
    _response, sql = statements(client, "/api/v1/site")
    assert tenancy(sql) == []


def test_a_new_pack_and_a_new_domain_are_seen_by_the_next_request() -> None:
    client = Client(HTTP_HOST="paytest.localhost")
    before = client.get("/api/v1/site").json()
    data = yaml.safe_load(paytest_pack_text())
    data["version"] = f"{data['version']}-next"
    data["centre"]["site_title"] = "支付测试交易中心（新版）"
    tenant_onboard(
        source_text=yaml.safe_dump(data, allow_unicode=True),
        source_name="paytest.yaml",
        domains=["paytest.localhost", "pay-next.localhost"],
    )
    after = client.get("/api/v1/site").json()
    assert after["rule_pack_version"] == before["rule_pack_version"] + 1
    assert after["site_title"] == "支付测试交易中心（新版）"
    assert Client(HTTP_HOST="pay-next.localhost").get("/api/v1/site").json()["region"] == "paytest"


def test_each_host_is_its_own_centre_and_an_unknown_host_is_not_served() -> None:
    for code in ("xinjiang", "benxi", "xuancheng", "xinjiang", "benxi"):
        assert Client(HTTP_HOST=f"{code}.localhost").get("/api/v1/site").json()["region"] == code
    assert Client(HTTP_HOST="nowhere.localhost").get("/api/v1/site").status_code == 404
    assert Client(HTTP_HOST="nowhere.localhost").get("/api/v1/site").status_code == 404


def test_a_credentials_use_is_written_at_most_once_per_interval() -> None:
    insurer = issuer_api("xinjiang", "guoren")
    assert insurer.get("/api/v1/issuer/orders/")[0] == 200
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            assert insurer.get("/api/v1/issuer/orders/")[0] == 200
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith(("UPDATE", "INSERT", "DELETE"))]
    assert writes == []
    with tenant_context(tenant("xinjiang")):
        used = ApiCredential.objects.filter(issuer_code="guoren").exclude(last_used_at=None)
        assert used.count() >= 1
        # once the interval has passed, the next call records it again
        stale = timezone.now() - USE_RECORDED_EVERY - timedelta(seconds=1)
        used.update(last_used_at=stale)
    connection.set_schema_to_public()
    insurer.get("/api/v1/issuer/orders/")
    with tenant_context(tenant("xinjiang")):
        assert ApiCredential.objects.filter(issuer_code="guoren", last_used_at__gt=stale).exists()
    connection.set_schema_to_public()


def test_an_entry_written_by_a_release_with_other_centre_fields_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """During a rolling release old and new processes share the cache: a process whose Tenant has
    other fields must not take the other version's list of values for its own."""
    from tenants import hosts

    client = Client(HTTP_HOST="xinjiang.localhost")
    assert client.get("/api/v1/site").json()["region"] == "xinjiang"  # the entry is cached now
    cache = caches["global"]
    key = hosts._host_key("xinjiang.localhost")
    entry = cache.get(key)
    assert entry is not None
    # What a release with one more field before the code would write: every value after it shifted.
    shifted = dict(entry, tenant=["extra", *entry["tenant"]])
    other_fields = ("extra", *hosts._TENANT_FIELDS)
    monkeypatch.setattr(hosts, "_TENANT_FIELDS", other_fields)
    monkeypatch.setattr(hosts, "ENTRY_SHAPE", "another-shape")
    cache.set(hosts._host_key("xinjiang.localhost"), shifted)
    monkeypatch.undo()
    assert hosts._host_key("xinjiang.localhost") == key  # this version's key is untouched
    _response, sql = statements(client, "/api/v1/site")
    assert tenancy(sql) == []  # still this version's own entry, from the cache
    assert client.get("/api/v1/site").json()["region"] == "xinjiang"
    caches["global"].delete(key)  # cold: the other version's entry is there, this one reads the database
    _response, sql = statements(client, "/api/v1/site")
    assert len([s for s in sql if "tenants_domain" in s]) == 1
    assert client.get("/api/v1/site").json()["region"] == "xinjiang"
