"""The console's overview for an issuer's staff on several panels: each centre's workbench queue
counts for their issuer, with a link there; one query per centre; nothing of another issuer."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from baohan.console.models import ConsoleRole
from baohan.issuerdesk import selectors as sel
from tenants.models import Tenant
from tests.money import benxi_like_waiting, in_centre
from tests.test_console import console_user
from tests.test_issuer_desk import benxi_submitted, text, voucher_submitted

pytestmark = pytest.mark.django_db


def test_issuer_staff_see_their_queues_on_every_centre_they_belong_to() -> None:
    benxi_submitted(["zijin"])
    waiting = benxi_like_waiting("paytest")
    voucher_submitted(waiting)
    user, client = console_user("issuer_staff", "benxi", "zijin")
    ConsoleRole.objects.create(
        user=user, kind="issuer_staff", tenant=Tenant.objects.get(code="paytest"), issuer_code="zijin"
    )
    with CaptureQueriesContext(connection) as queries:
        page = text(client.get("/console/"))
    counting = [q for q in queries.captured_queries if q["sql"].startswith("SELECT (SELECT COUNT(*)")]
    assert len(counting) == 2  # one per centre
    for code in ("benxi", "paytest"):
        expected = in_centre(code, sel.queue_counts, issuer_code="zijin")
        row = re.search(rf'<tr data-tenant="{code}" data-issuer="zijin">(.*?)</tr>', page, re.S)
        assert row, code
        shown = dict(re.findall(r'data-count="(\w+)">(\d+)<', row.group(1)))
        assert shown == {name: str(getattr(expected, name)) for name in shown}, code
        assert f"http://{code}.localhost/issuer/" in row.group(1)
    assert re.search(r'data-tenant="paytest" data-issuer="zijin">.*?data-count="vouchers">([1-9]\d*)<', page, re.S)
    # Centre staff and platform admins get no such card; another issuer's staff see only their own.
    _, admin = console_user("platform_admin")
    assert "出函机构待办" not in text(admin.get("/console/"))
    _, other = console_user("issuer_staff", "benxi", "yongan")
    page = text(other.get("/console/"))
    assert 'data-issuer="yongan"' in page
    assert 'data-issuer="zijin"' not in page
