"""Claims (索赔): filed after bid opening by the trading centre or by the tenderee holding the
policy, checked before anything is written, decided and paid by the issuer within the pack's
limits, on the order's timeline, told to the bidder, and invisible to other centres."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.documents.models import Policy
from baohan.guarantees.models import OrderEvent, Refund
from baohan.identity.models import SmsMessage
from tests.api import Api, centre_api, issuer_api, png_bytes, tenant
from tests.money import xinjiang_waiting
from tests.test_documents import _issue, _opened

pytestmark = pytest.mark.django_db


def _file(name: str, content: bytes) -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


def _claim(api: Api, path: str, **fields: Any) -> tuple[int, Any]:
    body = {"claimant_name": "乌鲁木齐市建设局", "claimant_contact": "0991-1234567", "reason": "中标后拒签合同"}
    body.update(fields)
    response = api.client.post(path, body)  # multipart: the evidence goes with it
    return response.status_code, response.json()


def _code(number: str) -> str:
    with tenant_context(tenant("xinjiang")):
        code = Policy.objects.get(order__number=number).verification_code
    connection.set_schema_to_public()
    return code


def test_a_claim_is_filed_after_opening_decided_and_paid_once(django_capture_on_commit_callbacks: Any) -> None:
    waiting = xinjiang_waiting()
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    centre = centre_api("xinjiang")
    path = f"/api/v1/centre/guarantees/{guarantee}/claims"
    insured = waiting.order().insured_amount

    status, error = _claim(centre, path, amount="1000.00")
    assert (status, error["code"]) == (409, "claim_before_opening")
    _opened("xinjiang", waiting.section)

    # Bad input is refused with the field named, and nothing is written.
    status, error = _claim(centre, path, amount=str(insured + 1))
    assert (status, error["code"], error["field"]) == (400, "amount_over_insured", "amount")
    status, error = _claim(centre, path, amount="1000.00", reason="")
    assert (status, error["field"]) == (400, "reason")
    status, error = _claim(centre, path, amount="1000.00", files=[_file("proof.pdf", b"not a pdf at all")])
    assert (status, error["code"], error["field"]) == (400, "file_type", "files")
    assert centre.get(path)[1] == []

    status, claim = _claim(
        centre, path, amount="5000.00", files=[_file("合同.pdf", b"%PDF-1.4\n%%EOF\n"), _file("照片.png", png_bytes())]
    )
    assert status == 201, claim
    assert (claim["state"], claim["claimant_kind"], claim["amount"]) == ("filed", "centre", "5000.00")
    assert claim["decide_by"] == str(timezone.localdate() + timedelta(days=5))  # the pack's default limit
    assert claim["overdue"] is False
    assert [e["name"] for e in claim["evidence"]] == ["合同.pdf", "照片.png"]
    status, error = _claim(centre, path, amount="100.00")
    assert (status, error["code"]) == (409, "claim_in_progress")

    guoren = issuer_api("xinjiang", "guoren")
    status, page = guoren.get("/api/v1/issuer/claims/", state="filed")
    assert [c["number"] for c in page["results"]] == [claim["number"]]
    first = claim["evidence"][0]
    status, content = guoren.get(f"/api/v1/issuer/claims/{claim['number']}/evidence/{first['id']}")
    assert (status, content) == (200, b"%PDF-1.4\n%%EOF\n")
    status, error = issuer_api("benxi", "zijin").get(f"/api/v1/issuer/claims/{claim['number']}/evidence/{first['id']}")
    assert (status, error["code"]) == (404, "evidence_not_found")
    action = f"/api/v1/issuer/claims/{claim['number']}"
    status, error = guoren.post(action, {"action": "reject"})
    assert (status, error["field"]) == (400, "reason")
    status, error = guoren.post(action, {"action": "pay", "reference": "PAY-1"})
    assert (status, error["code"]) == (409, "illegal_transition")
    status, accepted = guoren.post(action, {"action": "accept"})
    assert (status, accepted["state"]) == (200, "accepted")
    assert accepted["pay_by"] == str(timezone.localdate() + timedelta(days=10))
    status, error = guoren.post(action, {"action": "pay"})
    assert (status, error["field"]) == (400, "reference")
    status, paid = guoren.post(action, {"action": "pay", "reference": "PAY-1"})
    assert (status, paid["state"], paid["paid_reference"]) == (200, "paid", "PAY-1")
    status, error = guoren.post(action, {"action": "pay", "reference": "PAY-2"})
    assert (status, error["code"]) == (409, "illegal_transition")

    # Anyone verifying the guarantee now sees it was claimed; the bidder sees the claim and was told.
    status, found = Api("xinjiang.localhost").get("/api/v1/verify", number=guarantee, code=_code(waiting.number))
    assert (status, found["status"]) == (200, "claimed")
    status, mine = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/claims")
    assert [(c["number"], c["state"]) for c in mine] == [(claim["number"], "paid")]
    with tenant_context(tenant("xinjiang")):
        texts = SmsMessage.objects.filter(phone=waiting.operator.phone, template="claim_update").count()
        timeline = list(
            OrderEvent.objects.filter(order__number=waiting.number, subject="claim")
            .order_by("id")
            .values_list("transition", "to_state", "actor_kind")
        )
    connection.set_schema_to_public()
    assert texts == 3  # filed, accepted, paid
    assert timeline == [
        ("file_claim", "filed", "centre"),
        ("accept_claim", "accepted", "issuer"),
        ("pay_claim", "paid", "issuer"),
    ]


def test_the_tenderee_files_with_the_policy_it_holds(django_capture_on_commit_callbacks: Any) -> None:
    waiting = xinjiang_waiting()
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    _opened("xinjiang", waiting.section)
    anyone = Api("xinjiang.localhost")
    status, error = _claim(anyone, "/api/v1/claims", number=guarantee, code="WRONG123", amount="100.00")
    assert (status, error["code"]) == (404, "not_genuine")
    status, claim = _claim(anyone, "/api/v1/claims", number=guarantee, code=_code(waiting.number), amount="100.00")
    assert status == 201, claim
    assert (claim["claimant_kind"], claim["state"]) == ("tenderee", "filed")
    # Another centre knows nothing of the guarantee or its claims.
    status, error = _claim(
        Api("benxi.localhost"), "/api/v1/claims", number=guarantee, code=_code(waiting.number), amount="100.00"
    )
    assert (status, error["code"]) == (404, "not_genuine")
    status, error = _claim(centre_api("benxi"), f"/api/v1/centre/guarantees/{guarantee}/claims", amount="100.00")
    assert (status, error["code"]) == (404, "guarantee_not_found")
    status, page = issuer_api("benxi", "zijin").get("/api/v1/issuer/claims/")
    assert page["results"] == []
    status, error = issuer_api("benxi", "zijin").post(f"/api/v1/issuer/claims/{claim['number']}", {"action": "accept"})
    assert (status, error["code"]) == (404, "claim_not_found")


def test_a_claim_past_its_limit_is_overdue() -> None:
    from baohan.claims.models import Claim
    from baohan.claims.selectors import claim_overdue

    today = timezone.localdate()
    filed = Claim(state="filed", decide_by=today - timedelta(days=1))
    assert claim_overdue(filed, today=today) is True
    assert claim_overdue(Claim(state="filed", decide_by=today), today=today) is False
    accepted = Claim(state="accepted", decide_by=today - timedelta(days=9), pay_by=today - timedelta(days=1))
    assert claim_overdue(accepted, today=today) is True
    assert claim_overdue(Claim(state="paid", decide_by=today - timedelta(days=30)), today=today) is False


def test_claims_never_add_up_past_the_insured_sum_nor_take_other_images(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from PIL import Image

    waiting = xinjiang_waiting()
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    _opened("xinjiang", waiting.section)
    centre = centre_api("xinjiang")
    path = f"/api/v1/centre/guarantees/{guarantee}/claims"
    insured = waiting.order().insured_amount
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    status, error = _claim(centre, path, amount="100.00", files=[_file("photo.png", gif.getvalue())])
    assert (status, error["code"], error["field"]) == (400, "file_type", "files")

    status, first = _claim(centre, path, amount=str(insured - 100))
    assert status == 201, first
    guoren = issuer_api("xinjiang", "guoren")
    guoren.post(f"/api/v1/issuer/claims/{first['number']}", {"action": "accept"})
    guoren.post(f"/api/v1/issuer/claims/{first['number']}", {"action": "pay", "reference": "PAY-9"})
    status, error = _claim(centre, path, amount="100.01")
    assert (status, error["code"], error["field"]) == (400, "amount_over_insured", "amount")
    assert "尚可索赔 100.00" in error["message"]
    status, second = _claim(centre, path, amount="100.00")
    assert status == 201, second


def test_an_expired_guarantee_takes_no_claim(django_capture_on_commit_callbacks: Any) -> None:
    waiting = xinjiang_waiting()
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    _opened("xinjiang", waiting.section)
    with tenant_context(tenant("xinjiang")):
        from baohan.guarantees.models import Order

        Order.objects.filter(number=waiting.number).update(valid_until=timezone.localdate() - timedelta(days=1))
    connection.set_schema_to_public()
    status, error = _claim(centre_api("xinjiang"), f"/api/v1/centre/guarantees/{guarantee}/claims", amount="1.00")
    assert (status, error["code"]) == (409, "guarantee_expired")


def test_only_the_guarantees_issuer_sees_and_acts_on_its_claims(django_capture_on_commit_callbacks: Any) -> None:
    from tests.money import benxi_like_waiting

    waiting = benxi_like_waiting("benxi")
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    _opened("benxi", waiting.section)
    status, claim = _claim(
        centre_api("benxi"),
        f"/api/v1/centre/guarantees/{guarantee}/claims",
        amount="10.00",
        files=[_file("p.png", png_bytes())],
    )
    assert status == 201, claim
    other = issuer_api("benxi", "yongan")  # another insurer of the same centre
    status, page = other.get("/api/v1/issuer/claims/")
    assert claim["number"] not in [c["number"] for c in page["results"]]
    status, error = other.post(f"/api/v1/issuer/claims/{claim['number']}", {"action": "accept"})
    assert (status, error["code"]) == (404, "claim_not_found")
    evidence = claim["evidence"][0]["id"]
    status, error = other.get(f"/api/v1/issuer/claims/{claim['number']}/evidence/{evidence}")
    assert (status, error["code"]) == (404, "evidence_not_found")
    status, done = waiting.issuer.post(
        f"/api/v1/issuer/claims/{claim['number']}", {"action": "reject", "reason": "不符合条款"}
    )
    assert (status, done["state"], done["decision_reason"]) == (200, "rejected", "不符合条款")


def test_a_claimed_guarantee_is_not_surrendered_for_its_premium(django_capture_on_commit_callbacks: Any) -> None:
    waiting = xinjiang_waiting()
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    _opened("xinjiang", waiting.section)
    centre = centre_api("xinjiang")
    status, claim = _claim(centre, f"/api/v1/centre/guarantees/{guarantee}/claims", amount="5000.00")
    assert status == 201, claim
    # The tender then fails: the pack would refund (流标 after opening), but the claim stands first.
    status, _ = centre.post(f"/api/v1/centre/sections/{waiting.section}/events", {"kind": "failed_tender"})
    assert status == 201
    status, error = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/refund", {"reason": "项目流标"})
    assert (status, error["code"]) == (409, "claimed")
    with tenant_context(tenant("xinjiang")):
        assert not Refund.objects.filter(order__number=waiting.number).exists()
    connection.set_schema_to_public()
    # Once the issuer refuses the claim, the refund the pack allows can be asked for.
    status, _ = issuer_api("xinjiang", "guoren").post(
        f"/api/v1/issuer/claims/{claim['number']}", {"action": "reject", "reason": "不属于保险责任"}
    )
    assert status == 200
    status, refund = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/refund", {"reason": "项目流标"})
    assert status == 201, refund
