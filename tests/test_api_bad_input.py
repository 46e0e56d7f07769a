"""Bad input gets a clear 400 in the one error shape and changes nothing (cases the fuzzer found)."""

from __future__ import annotations

import pytest

from tests.api import bidder_api, centre_api, section_payload
from tests.test_api_permissions import benxi_order, snapshot
from tests.test_scenario_benxi import benxi_form

pytestmark = pytest.mark.django_db


def test_nul_characters_are_refused_in_paths_queries_and_bodies() -> None:
    bidder, _ = bidder_api("benxi")
    for path in ("/api/v1/orders/?q=a%00b", "/api/v1/sections/?status=%00", "/api/v1/orders/a%00b"):
        status, error = bidder.get(path)
        assert (status, error["code"]) == (400, "malformed"), path
    centre = centre_api("benxi")
    centre.put("/api/v1/centre/sections/BX-NUL", section_payload(project_type="housing", amount="20000.00"))
    before = snapshot("benxi")
    request = {
        "section": "BX-NUL",
        "deposit_kind": "bid",
        "issuer_kind": "insurer",
        "issuer_codes": ["zijin"],
        "form": {**benxi_form(), "project_address": "本溪\x00市"},
    }
    status, error = bidder.post("/api/v1/orders/", request)
    assert (status, error["code"]) == (400, "malformed")
    assert snapshot("benxi") == before


def test_invoice_kind_of_the_wrong_type_is_a_clear_error() -> None:
    centre = centre_api("benxi")
    centre.put("/api/v1/centre/sections/BX-INV", section_payload(project_type="housing", amount="20000.00"))
    bidder, _ = bidder_api("benxi")
    order = benxi_order(bidder, "BX-INV", ["zijin"])
    for body in ({"form": [None], "type": "0"}, {"form": {}, "type": "vat_general"}, {"form": "paper", "type": ["x"]}):
        status, error = bidder.post(f"/api/v1/orders/{order['number']}/invoice", body)
        assert status == 400, body
        assert error["field"] in ("form", "type")


def test_dates_out_of_range_are_refused() -> None:
    centre = centre_api("benxi")
    status, error = centre.put(
        "/api/v1/centre/sections/BX-OLD",
        section_payload(project_type="housing", deposit_deadline="0001-01-01T00:00:00Z"),
    )
    assert (status, error["field"]) == (400, "deposit_deadline")
    centre.put("/api/v1/centre/sections/BX-FAR", section_payload(project_type="housing", amount="20000.00"))
    bidder, _ = bidder_api("benxi")
    status, error = bidder.post(
        "/api/v1/orders/",
        {
            "section": "BX-FAR",
            "deposit_kind": "bid",
            "issuer_kind": "insurer",
            "issuer_codes": ["zijin"],
            "form": {**benxi_form(), "start_date": "9999-12-01"},
        },
    )
    assert (status, error["field"], error["label"]) == (400, "start_date", "起保日期")
