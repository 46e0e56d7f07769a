"""Who may see and do what: each refused call is answered in the one error shape and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Order, OrderEvent
from tests.api import Api, bidder_api, centre_api, issuer_api, section_payload, tenant

pytestmark = pytest.mark.django_db


def snapshot(code: str) -> list[tuple[Any, ...]]:
    with tenant_context(tenant(code)):
        rows = list(Order.objects.order_by("id").values_list("number", "state", "issuer_code", "premium"))
        rows.append(("events", OrderEvent.objects.count()))
    return rows


def benxi_order(bidder: Api, section: str, issuers: list[str]) -> dict[str, Any]:
    from tests.test_scenario_benxi import benxi_form

    status, order = bidder.post(
        "/api/v1/orders/",
        {
            "section": section,
            "deposit_kind": "bid",
            "issuer_kind": "insurer",
            "issuer_codes": issuers,
            "form": benxi_form(),
        },
    )
    assert status == 201, order
    status, order = bidder.post(
        f"/api/v1/orders/{order['number']}/submit",
        {"consents": ["broker_notice", "clauses_read", "broker_documents_read"]},
    )
    assert status == 200, order
    return order  # type: ignore[no-any-return]


def test_bidders_see_only_their_enterprises_orders() -> None:
    centre = centre_api("benxi")
    centre.put("/api/v1/centre/sections/BX-P-1", section_payload(project_type="housing", amount="20000.00"))
    alice, _ = bidder_api("benxi")
    bob, _ = bidder_api("benxi")
    order = benxi_order(alice, "BX-P-1", ["zijin"])
    before = snapshot("benxi")

    status, error = bob.get(f"/api/v1/orders/{order['number']}")
    assert (status, error["code"]) == (404, "order_not_found")
    assert set(error) == {"code", "message", "field", "label"}
    status, page = bob.get("/api/v1/orders/")
    assert page["results"] == []
    for path in ("submit", "abandon", "cancel", "refund"):
        status, error = bob.post(f"/api/v1/orders/{order['number']}/{path}", {"consents": []})
        assert status == 404, (path, error)
    status, error = Api("benxi.localhost").get("/api/v1/orders/")
    assert (status, error["code"]) == (401, "not_authenticated")
    assert snapshot("benxi") == before


def test_credentials_are_worthless_on_another_centres_host() -> None:
    xinjiang_centre = centre_api("xinjiang")
    status, _ = xinjiang_centre.put("/api/v1/centre/sections/XJ-P-1", section_payload(project_type="construction"))
    assert status == 201
    authorization = xinjiang_centre.client.defaults["HTTP_AUTHORIZATION"]
    before = snapshot("benxi")
    on_benxi = Api("benxi.localhost", authorization)
    status, error = on_benxi.put("/api/v1/centre/sections/XJ-P-1", section_payload(project_type="housing"))
    assert (status, error["code"]) == (401, "authentication_failed")
    status, error = on_benxi.post("/api/v1/centre/sections/XJ-P-1/events", {"kind": "opened"})
    assert status == 401
    assert snapshot("benxi") == before
    with tenant_context(tenant("benxi")):
        from baohan.sections.models import Section

        assert not Section.objects.filter(code="XJ-P-1").exists()

    # A bidder's token of one centre is unknown on another.
    bidder, _ = bidder_api("xinjiang")
    status, _ = Api("benxi.localhost", bidder.client.defaults["HTTP_AUTHORIZATION"]).get("/api/v1/orders/")
    assert status == 401


def test_callers_keep_to_their_own_endpoints() -> None:
    centre = centre_api("benxi")
    zijin = issuer_api("benxi", "zijin")
    bidder, _ = bidder_api("benxi")
    assert bidder.get("/api/v1/issuer/orders/")[0] == 401  # a bidder's token is not a credential
    status, error = zijin.put("/api/v1/centre/sections/X", section_payload(project_type="housing"))
    assert (status, error["code"]) == (403, "forbidden")
    status, error = centre.get("/api/v1/issuer/orders/")
    assert status == 403
    status, error = centre.get("/api/v1/orders/")
    assert status in (401, 403)


def test_an_issuer_sees_and_decides_only_its_own_orders() -> None:
    centre = centre_api("benxi")
    centre.put("/api/v1/centre/sections/BX-P-2", section_payload(project_type="housing", amount="20000.00"))
    bidder, _ = bidder_api("benxi")
    order = benxi_order(bidder, "BX-P-2", ["zijin"])
    yongan = issuer_api("benxi", "yongan")
    before = snapshot("benxi")
    status, page = yongan.get("/api/v1/issuer/orders/")
    assert page["results"] == []
    for path, body in (
        ("decision", {"approve": True}),
        ("payment", {"outcome": "confirmed", "amount": "1"}),
        ("issue", {}),
    ):
        status, error = yongan.post(f"/api/v1/issuer/orders/{order['number']}/{path}", body)
        assert (status, error["code"]) == (404, "order_not_found"), path
    assert snapshot("benxi") == before


def test_a_guarantee_company_declining_alone_rejects_the_order() -> None:
    centre = centre_api("benxi")
    centre.put("/api/v1/centre/sections/BX-P-3", section_payload(project_type="housing", amount="20000.00"))
    bidder, _ = bidder_api("benxi")
    order = benxi_order(bidder, "BX-P-3", ["zijin", "yongan"])
    zijin, yongan = issuer_api("benxi", "zijin"), issuer_api("benxi", "yongan")
    status, error = zijin.post(f"/api/v1/issuer/orders/{order['number']}/decision", {"approve": False})
    assert (status, error["field"]) == (400, "reason")
    status, after = zijin.post(
        f"/api/v1/issuer/orders/{order['number']}/decision", {"approve": False, "reason": "资质不符"}
    )
    assert after["state"] == "underwriting"  # 永安 may still accept
    status, after = yongan.post(
        f"/api/v1/issuer/orders/{order['number']}/decision", {"approve": False, "reason": "额度已满"}
    )
    assert after["state"] == "rejected"


def test_list_endpoints_query_count_does_not_grow_with_rows() -> None:
    centre = centre_api("benxi")
    bidder, _ = bidder_api("benxi")
    zijin = issuer_api("benxi", "zijin")

    def add(first: int, last: int) -> None:
        for i in range(first, last):
            centre.put(f"/api/v1/centre/sections/BX-Q-{i}", section_payload(project_type="housing", amount="20000.00"))
            benxi_order(bidder, f"BX-Q-{i}", ["zijin"])

    def counts() -> dict[str, tuple[int, int]]:
        out = {}
        for name, api, path in (
            ("sections", bidder, "/api/v1/sections/?page_size=100&q=BX-Q"),
            ("orders", bidder, "/api/v1/orders/?page_size=100"),
            ("issuer_orders", zijin, "/api/v1/issuer/orders/?page_size=100"),
        ):
            with CaptureQueriesContext(connection) as queries:
                status, page = api.get(path)
            assert status == 200
            out[name] = (len(queries), page["count"])
        return out

    add(0, 1)
    zijin.get("/api/v1/issuer/orders/")  # the credential's use is written once per interval, not counted here
    one = counts()
    add(1, 50)
    fifty = counts()
    assert {k: v[1] for k, v in one.items()} == {"sections": 1, "orders": 1, "issuer_orders": 1}
    assert {k: v[1] for k, v in fifty.items()} == {"sections": 50, "orders": 50, "issuer_orders": 50}
    assert {k: v[0] for k, v in one.items()} == {k: v[0] for k, v in fifty.items()}
