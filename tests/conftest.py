"""Test fixtures: the three centres are onboarded once per run, on real PostgreSQL schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import Client

REGIONS = ("xinjiang", "xuancheng", "benxi")
LAST = "test_zz_sensitive_numbers.py"


def pytest_configure(config: pytest.Config) -> None:
    from tests import leaks

    leaks.install()
    _test_database_always()


def _test_database_always() -> None:
    """pytest-django sets up the test database only for the aliases of tests marked ``django_db``;
    a run of ``committed_db`` tests alone would then reach the development database. Always
    set up ``default``."""
    import pytest_django.fixtures as fixtures

    original = fixtures._get_databases_for_setup

    def with_default(items: Any) -> tuple[set[str], set[str]]:
        aliases, serialized = original(items)
        return aliases | {"default"}, serialized

    fixtures._get_databases_for_setup = with_default


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The scan for leaked numbers looks at what every other test produced: it runs last."""
    items.sort(key=lambda item: item.nodeid.split("::")[0].endswith(LAST))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    from tenants.services import tenant_onboard_file

    with django_db_blocker.unblock():
        for code in REGIONS:
            tenant_onboard_file(path=Path(settings.REGIONS_DIR) / f"{code}.yaml", domains=[f"{code}.localhost"])
        from tenants.services import tenant_onboard

        # A fourth centre from YAML alone: Benxi's pack taking every payment method (online too).
        tenant_onboard(source_text=paytest_pack_text(), source_name="paytest.yaml", domains=["paytest.localhost"])


def paytest_pack_text() -> str:
    data = yaml.safe_load((Path(settings.REGIONS_DIR) / "benxi.yaml").read_text(encoding="utf-8"))
    data["centre"].update(code="paytest", name="支付测试交易中心", site_title="支付测试交易中心金融服务平台")
    data["payment"].update(
        methods=["offline_transfer", "voucher", "online"],
        online_channels=["card", "alipay", "wechat_pay"],
        payer_default="any",
        remark_required=True,
        auto_refund_service_fee="10.00",
        auto_refund_working_days=5,
    )
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.fixture
def committed_db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database access outside a test transaction, for work other processes must see.

    Unlike ``transaction=True`` nothing is flushed afterwards (that would delete the
    centres onboarded for the whole run): tests using this clean up what they create.
    """
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fresh_global_counters() -> None:
    """Rate limits live in the caches (SMS sends across centres in "global"): each test starts afresh."""
    caches["global"].clear()
    caches["default"].clear()


@pytest.fixture(autouse=True)
def _public_schema_after_test() -> Iterator[None]:
    yield
    connection.set_schema_to_public()


@pytest.fixture
def region_pack_data() -> Any:
    """A region's pack as plain data, to be altered by a test."""

    def load(code: str) -> dict[str, Any]:
        return yaml.safe_load((Path(settings.REGIONS_DIR) / f"{code}.yaml").read_text(encoding="utf-8"))

    return load


def host_client(host: str) -> Client:
    return Client(HTTP_HOST=host)
