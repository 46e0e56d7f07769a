"""The issuer workbench after issue: 退保 reviewed and paid out with the bank's reference, 发票 issued
(the e-invoice's PDF, or the paper one's carrier and tracking number), 售后 answered, 索赔 accepted,
refused with a reason and paid. Each action writes what the issuer API writes, by the person named."""

from __future__ import annotations

import io
from typing import Any

import pytest
from reportlab.pdfgen import canvas

from baohan.claims.models import Claim
from baohan.guarantees.models import OrderEvent, Refund
from baohan.payments.models import Payout
from tests.api import centre_api, sms_code
from tests.money import Waiting, benxi_like_waiting, in_centre, xinjiang_waiting
from tests.test_documents import _opened
from tests.test_issuer_desk import desk_client, field_error, flash, snapshot, text

pytestmark = pytest.mark.django_db

PERSON_XJ = "马核保（国任财产保险股份有限公司）"


def pdf_bytes() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "INVOICE")
    page.save()
    return out.getvalue()


def events(code: str, number: str) -> list[tuple[str, str, str, str]]:
    def read() -> list[tuple[str, str, str, str]]:
        return list(
            OrderEvent.objects.filter(order__number=number)
            .order_by("id")
            .values_list("transition", "from_state", "to_state", "actor_kind")
        )

    return list(in_centre(code, read))


def issuer_labels(code: str, number: str) -> set[str]:
    def read() -> set[str]:
        rows = OrderEvent.objects.filter(order__number=number, actor_kind="issuer").values_list(
            "actor_label", flat=True
        )
        return set(rows)

    return set(in_centre(code, read))


def _issue(waiting: Waiting, capture: Any) -> str:
    """Payment confirmed (its own bank reference) and issued through the API, the policy made."""
    status, order = waiting.issuer.post(
        f"/api/v1/issuer/orders/{waiting.number}/payment",
        {"outcome": "confirmed", "amount": str(waiting.payable), "reference": f"BANK-{waiting.number}"},
    )
    assert status == 200, order
    with capture(execute=True):
        status, order = waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})
    assert (status, order["state"]) == (200, "issued"), order
    return str(order["guarantee_number"])


def xinjiang_refund(capture: Any) -> tuple[Waiting, str]:
    """An issued Xinjiang guarantee given up before opening: its refund waits for the insurer's review."""
    waiting = xinjiang_waiting()
    _issue(waiting, capture)
    status, refund = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/refund", {"reason": "放弃投标"})
    assert status == 201, refund
    operator = waiting.operator
    status, refund = waiting.bidder.post(
        f"/api/v1/refunds/{refund['number']}/account",
        {
            "account_name": operator.enterprise.name,
            "account_number": operator.enterprise.basic_account_number,
            "bank_name": "中国建设银行乌鲁木齐分行",
            "operator_phone": operator.phone,
            "captcha": "0532",
            "sms_code": sms_code(waiting.bidder, "xinjiang", operator.phone, "refund_account"),
        },
    )
    assert (status, refund["state"]) == (200, "pending_review"), refund
    return waiting, str(refund["number"])


def test_a_refund_is_reviewed_and_paid_out_as_through_the_api(django_capture_on_commit_callbacks: Any) -> None:
    by_api, api_refund = xinjiang_refund(django_capture_on_commit_callbacks)
    on_desk, desk_refund = xinjiang_refund(django_capture_on_commit_callbacks)
    desk = desk_client("xinjiang", "guoren", name="马核保")
    page = text(desk.get("/issuer/refunds/"))
    assert desk_refund in page
    assert api_refund in page

    # Refusing needs a reason, named beside its field; nothing changes.
    before = snapshot("xinjiang", on_desk.number)
    response = desk.post(f"/issuer/refunds/{desk_refund}/decision", {"decision": "reject", "reason": ""})
    assert response.status_code == 400
    assert "请填写拒绝原因" in field_error(text(response), f"rr-{desk_refund}")
    assert snapshot("xinjiang", on_desk.number) == before

    status, _ = by_api.issuer.post(f"/api/v1/issuer/refunds/{api_refund}/decision", {"approve": True})
    assert status == 200
    assert "待退款" in flash(desk, desk.post(f"/issuer/refunds/{desk_refund}/decision", {"decision": "approve"}))

    payout = in_centre("xinjiang", lambda: Payout.objects.get(refund__number=desk_refund).number)
    api_payout = in_centre("xinjiang", lambda: Payout.objects.get(refund__number=api_refund).number)
    assert payout in text(desk.get("/issuer/refunds/"))
    response = desk.post(f"/issuer/payouts/{payout}/paid", {"reference": " "})
    assert response.status_code == 400
    assert "请填写退款流水号" in field_error(text(response), f"ref-{payout}")
    status, _ = by_api.issuer.post(f"/api/v1/issuer/payouts/{api_payout}/paid", {"reference": "BANK-API-1"})
    assert status == 200
    response = desk.post(f"/issuer/payouts/{payout}/paid", {"reference": "BANK-DESK-1"})
    assert "已登记为已退款" in flash(desk, response)

    def read(number: str) -> tuple[str, str, str]:
        refund = Refund.objects.select_related("order").get(number=number)
        return refund.state, refund.payout_reference, refund.order.state

    assert in_centre("xinjiang", read, desk_refund) == ("refunded", "BANK-DESK-1", "surrendered")
    assert events("xinjiang", by_api.number) == events("xinjiang", on_desk.number)
    assert PERSON_XJ in issuer_labels("xinjiang", on_desk.number)
    assert desk_refund not in text(desk.get("/issuer/refunds/"))


def benxi_issued_and_opened(capture: Any) -> Waiting:
    waiting = benxi_like_waiting()
    _issue(waiting, capture)
    _opened("benxi", waiting.section)
    return waiting


def test_invoices_after_sales_on_the_bench(django_capture_on_commit_callbacks: Any) -> None:
    electronic = benxi_issued_and_opened(django_capture_on_commit_callbacks)
    paper = benxi_issued_and_opened(django_capture_on_commit_callbacks)
    enterprise = electronic.operator.enterprise
    status, e_invoice = electronic.bidder.post(
        f"/api/v1/orders/{electronic.number}/invoice",
        {"form": "electronic", "type": "vat_general", "title": enterprise.name, "taxpayer_id": enterprise.uscc},
    )
    assert status == 201, e_invoice
    enterprise = paper.operator.enterprise
    status, p_invoice = paper.bidder.post(
        f"/api/v1/orders/{paper.number}/invoice",
        {
            "form": "paper",
            "type": "vat_general",
            "title": enterprise.name,
            "taxpayer_id": enterprise.uscc,
            "recipient": "王收件",
            "recipient_phone": "13700000000",
            "recipient_address": "本溪市明山区",
        },
    )
    assert status == 201, p_invoice
    desk = desk_client("benxi", "zijin", name="李开票")
    page = text(desk.get("/issuer/invoices/"))
    assert f'id="invoice-{e_invoice["id"]}"' in page
    assert f'id="invoice-{p_invoice["id"]}"' in page

    # The paper invoice needs its tracking number: named, and what was typed stays.
    response = desk.post(
        f"/issuer/invoices/{p_invoice['id']}/advance", {"action": "issue", "invoice_number": "No.9", "carrier": "顺丰"}
    )
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, f"track-{p_invoice['id']}")
    assert 'value="顺丰"' in page
    response = desk.post(
        f"/issuer/invoices/{p_invoice['id']}/advance",
        {"action": "issue", "invoice_number": "No.9", "carrier": "顺丰", "tracking_number": "SF900"},
    )
    assert "发票已开具" in flash(desk, response)
    # The electronic one: a file that is no PDF is refused beside the field; a PDF issues it.
    fake = io.BytesIO(b"\x89PNG not an invoice")
    fake.name = "invoice.pdf"
    response = desk.post(
        f"/issuer/invoices/{e_invoice['id']}/advance", {"action": "issue", "invoice_number": "E-9", "document": fake}
    )
    assert response.status_code == 400
    assert field_error(text(response), f"doc-{e_invoice['id']}")
    real = io.BytesIO(pdf_bytes())
    real.name = "invoice.pdf"
    response = desk.post(
        f"/issuer/invoices/{e_invoice['id']}/advance", {"action": "issue", "invoice_number": "E-9", "document": real}
    )
    assert "发票已开具" in flash(desk, response)
    _, documents = electronic.bidder.get(f"/api/v1/orders/{electronic.number}/documents")
    assert [(d["kind"], d["available"]) for d in documents][-1] == ("invoice", True)
    _, documents = paper.bidder.get(f"/api/v1/orders/{paper.number}/documents")
    assert next(d for d in documents if d["kind"] == "invoice")["note"] == "纸质发票已寄出：顺丰 SF900"
    assert "李开票（紫金财产保险股份有限公司）" in issuer_labels("benxi", paper.number)

    # 售后: answered on the bench as through the API.
    status, item = paper.bidder.post(
        f"/api/v1/orders/{paper.number}/after-sales", {"category": "other", "description": "发票抬头需更正"}
    )
    assert status == 201, item
    assert "发票抬头需更正" in text(desk.get("/issuer/after-sales/"))
    response = desk.post(f"/issuer/after-sales/{item['id']}/advance", {"action": "resolve", "resolution": "已重开"})
    assert "已解决" in flash(desk, response)
    _, mine = paper.bidder.get("/api/v1/after-sales/")
    assert [(i["state"], i["resolution"]) for i in mine["results"]] == [("resolved", "已重开")]


def _claim(waiting: Waiting, amount: str = "1000.00") -> str:
    guarantee = waiting.order().guarantee_number
    centre = centre_api(waiting.centre)
    response = centre.client.post(
        f"/api/v1/centre/guarantees/{guarantee}/claims",
        {
            "claimant_name": "乌鲁木齐市建设局",
            "claimant_contact": "0991-1234567",
            "reason": "中标后拒签合同",
            "amount": amount,
        },
    )
    assert response.status_code == 201, response.content
    return str(response.json()["number"])


def test_claims_are_accepted_refused_and_paid_on_the_bench(django_capture_on_commit_callbacks: Any) -> None:
    first, second = xinjiang_waiting(), xinjiang_waiting()
    for waiting in (first, second):
        _issue(waiting, django_capture_on_commit_callbacks)
        _opened("xinjiang", waiting.section)
    paid, refused = _claim(first), _claim(second)
    desk = desk_client("xinjiang", "guoren", name="马核保")
    page = text(desk.get("/issuer/claims/"))
    assert paid in page
    assert refused in page

    response = desk.post(f"/issuer/claims/{refused}/action", {"action": "reject", "reason": ""})
    assert response.status_code == 400
    assert "请填写拒赔原因" in field_error(text(response), f"cr-{refused}")
    assert "已拒赔" in flash(
        desk, desk.post(f"/issuer/claims/{refused}/action", {"action": "reject", "reason": "不符合条款"})
    )
    assert "已受理" in flash(desk, desk.post(f"/issuer/claims/{paid}/action", {"action": "accept"}))
    response = desk.post(f"/issuer/claims/{paid}/action", {"action": "pay", "reference": ""})
    assert response.status_code == 400
    assert "请填写赔付流水号" in field_error(text(response), f"cref-{paid}")
    assert "已登记赔付" in flash(
        desk, desk.post(f"/issuer/claims/{paid}/action", {"action": "pay", "reference": "PAY-1"})
    )
    states = in_centre(
        "xinjiang", lambda: dict(Claim.objects.filter(number__in=[paid, refused]).values_list("number", "state"))
    )
    assert states == {paid: "paid", refused: "rejected"}
    labels = in_centre(
        "xinjiang",
        lambda: set(
            OrderEvent.objects.filter(
                order__number=first.number, transition__in=["accept_claim", "pay_claim"]
            ).values_list("actor_label", flat=True)
        ),
    )
    assert labels == {PERSON_XJ}
    assert paid not in text(desk.get("/issuer/claims/"))
    assert refused not in text(desk.get("/issuer/claims/"))
