"""The policy document: generated after issue in real Chinese text (an embedded font, no boxes),
sealed before bid opening where the pack says so, handed out by the pack's rule, and verifiable
by anyone with the guarantee number and code, or with the file itself."""

from __future__ import annotations

import hashlib
import io
import itertools
from typing import Any

import pikepdf
import pypdf
import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from baohan.documents.models import Policy
from tests.api import Api, bidder_api, centre_api, issuer_api, section_payload, sms_code, tenant
from tests.money import Waiting, benxi_like_waiting, xinjiang_waiting

pytestmark = pytest.mark.django_db
_events = itertools.count(1)
BASE_14 = {"Helvetica", "Helvetica-Bold", "Times-Roman", "Courier", "Symbol", "ZapfDingbats"}
_sections = itertools.count(1)


def _issue(waiting: Waiting, capture: Any) -> str:
    status, order = waiting.issuer.post(
        f"/api/v1/issuer/orders/{waiting.number}/payment",
        {"outcome": "confirmed", "amount": str(waiting.payable), "reference": "BANK-DOC"},
    )
    assert status == 200, order
    with capture(execute=True):  # the policy is made by a task queued when the order is issued
        status, order = waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})
    assert (status, order["state"]) == (200, "issued"), order
    return str(order["guarantee_number"])


def _policy(centre: str, number: str) -> tuple[Policy, bytes, bytes]:
    with tenant_context(tenant(centre)):
        policy = Policy.objects.select_related("order__enterprise").get(order__number=number)
        with policy.plain.open("rb") as f:
            plain = f.read()
        sealed = b""
        if policy.sealed:
            with policy.sealed.open("rb") as f:
                sealed = f.read()
    connection.set_schema_to_public()
    return policy, plain, sealed


def _opened(centre: str, section: str) -> None:
    status, event = centre_api(centre).post(
        f"/api/v1/centre/sections/{section}/events", {"kind": "opened", "event_id": f"doc-{next(_events)}"}
    )
    assert status == 201, event


def _xuancheng_issued(capture: Any) -> tuple[Api, str, str]:
    centre = centre_api("xuancheng")
    bidder, operator = bidder_api("xuancheng")
    section = f"XC-DOC-{next(_sections)}"
    status, _ = centre.put(f"/api/v1/centre/sections/{section}", section_payload(project_type="construction"))
    assert status == 201
    form = {
        "operator_name": operator.name,
        "operator_phone": operator.phone,
        "captcha": "1234",
        "sms_code": sms_code(bidder, "xuancheng", operator.phone, "application"),
    }
    status, order = bidder.post(
        "/api/v1/orders/", {"section": section, "deposit_kind": "bid", "issuer_kind": "insurer", "form": form}
    )
    assert status == 201, order
    number = order["number"]
    status, order = bidder.post(f"/api/v1/orders/{number}/submit", {"consents": ["application_notice_authorisation"]})
    assert order["state"] == "awaiting_payment", order
    insurer = issuer_api("xuancheng", order["issuer_code"])
    insurer.post(f"/api/v1/issuer/orders/{number}/payment", {"outcome": "confirmed", "amount": order["payable_amount"]})
    with capture(execute=True):
        status, order = insurer.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert order["state"] == "issued", order
    return bidder, number, section


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _fonts(pdf: bytes) -> list[tuple[str, bool]]:
    """Each font of the first page: its name, and whether its glyphs are inside the file."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    found = []
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        descendants = font.get("/DescendantFonts")
        target = descendants[0].get_object() if descendants else font
        descriptor = target.get("/FontDescriptor")
        embedded = descriptor is not None and any(
            k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
        )
        found.append((str(font["/BaseFont"]), embedded))
    return found


# --- the document -------------------------------------------------------------------------------


@pytest.mark.parametrize("centre", ["xinjiang", "benxi", "xuancheng"])
def test_each_centres_policy_is_chinese_text_in_an_embedded_font(
    centre: str, django_capture_on_commit_callbacks: Any
) -> None:
    if centre == "xuancheng":
        _, number, _ = _xuancheng_issued(django_capture_on_commit_callbacks)
    else:
        waiting = xinjiang_waiting() if centre == "xinjiang" else benxi_like_waiting("benxi")
        _issue(waiting, django_capture_on_commit_callbacks)
        number = waiting.number
    policy, plain, _ = _policy(centre, number)
    text = _text(plain)
    for words in ("电子保单", "投保人", "被保险人", "保险金额", "验真码", policy.order.guarantee_number):
        assert words in text, words
    assert policy.verification_code in text
    assert policy.order.enterprise.name in text  # the bidder's name, as characters, not boxes
    fonts = _fonts(plain)
    assert fonts
    # Nothing left to the reader's machine but the Latin fonts every PDF reader has.
    assert all(embedded or name.lstrip("/") in BASE_14 for name, embedded in fonts), fonts
    assert any(embedded and "WenQuanYi" in name for name, embedded in fonts), fonts
    assert not any("STSong" in name for name, _ in fonts)
    assert policy.plain_sha256 == hashlib.sha256(plain).hexdigest()
    assert policy.plain.name.startswith(f"tenants/{centre}/policies/")


def test_benxi_theme_lays_out_its_own_title() -> None:
    from baohan.documents.policy import policy_layout

    base, benxi = policy_layout("xuancheng"), policy_layout("benxi")
    assert base.title == "投标保证金保险电子保单"
    assert benxi.title.endswith("（本溪）")
    assert benxi.rows == base.rows  # what the theme does not say, the base says


# --- what the bidder gets, and when -------------------------------------------------------------------


def test_xinjiang_hands_out_only_the_encrypted_policy_before_opening_then_the_plain_one(
    django_capture_on_commit_callbacks: Any,
) -> None:
    waiting = xinjiang_waiting()
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    policy, plain, sealed = _policy("xinjiang", waiting.number)
    base = f"/api/v1/orders/{waiting.number}/documents"
    centre = centre_api("xinjiang")

    status, offers = waiting.bidder.get(base)
    assert status == 200
    assert [(o["kind"], o["available"]) for o in offers] == [("policy_encrypted", True), ("policy", False)]
    assert offers[1]["available_from"] is not None
    assert offers[1]["note"] == "开标后可下载解密保单"  # Xinjiang does encrypt
    status, error = waiting.bidder.get(f"{base}/policy")
    assert (status, error["code"]) == (403, "document_not_available")
    status, error = centre.get(f"/api/v1/centre/guarantees/{guarantee}/policy")
    assert (status, error["code"]) == (403, "document_not_available")

    status, content = waiting.bidder.get(f"{base}/policy_encrypted")
    assert status == 200
    assert content == sealed
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(content))
    with pikepdf.open(io.BytesIO(content), password=policy.sealed_password) as opened:
        assert opened.is_encrypted
        out = io.BytesIO()
        opened.save(out)
    assert _text(out.getvalue()) == _text(plain)

    _opened("xinjiang", waiting.section)
    status, offers = waiting.bidder.get(base)
    assert [(o["kind"], o["available"]) for o in offers] == [("policy", True)]
    status, error = waiting.bidder.get(f"{base}/policy_encrypted")
    assert (status, error["code"]) == (404, "document_not_found")  # no longer offered
    status, content = waiting.bidder.get(f"{base}/policy")
    assert status == 200
    assert hashlib.sha256(content).hexdigest() == policy.plain_sha256
    status, content = centre.get(f"/api/v1/centre/guarantees/{guarantee}/policy")
    assert status == 200
    assert content == plain


def test_xuancheng_hands_out_nothing_before_opening(django_capture_on_commit_callbacks: Any) -> None:
    bidder, number, section = _xuancheng_issued(django_capture_on_commit_callbacks)
    base = f"/api/v1/orders/{number}/documents"
    status, offers = bidder.get(base)
    assert [(o["kind"], o["available"], o["url"]) for o in offers] == [("policy", False, None)]
    # Xuancheng encrypts nothing: the note speaks of the policy, not of decrypting it.
    assert (offers[0]["label"], offers[0]["note"], offers[0]["state"]) == ("电子保单", "开标后可下载电子保单", "later")
    assert "解密" not in str(offers)
    for kind in ("policy", "policy_encrypted"):
        status, error = bidder.get(f"{base}/{kind}")
        assert status in (403, 404)
        assert error["code"] in ("document_not_available", "document_not_found")
    _policy("xuancheng", number)  # made at issue all the same, and kept back
    _opened("xuancheng", section)
    status, offers = bidder.get(base)
    assert [(o["kind"], o["available"]) for o in offers] == [("policy", True)]
    status, content = bidder.get(f"{base}/policy")
    assert status == 200
    assert content.startswith(b"%PDF")


def test_benxi_hands_out_the_plain_policy_once_issued(django_capture_on_commit_callbacks: Any) -> None:
    waiting = benxi_like_waiting("benxi")
    _issue(waiting, django_capture_on_commit_callbacks)
    status, offers = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/documents")
    assert [(o["kind"], o["available"]) for o in offers] == [("policy", True)]
    status, content = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/documents/policy")
    assert (status, content[:4]) == (200, b"%PDF")


def test_before_issue_the_order_lists_the_policy_to_come() -> None:
    waiting = xinjiang_waiting()
    status, offers = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/documents")
    assert (status, offers) == (
        200,
        [
            {
                "kind": "policy",
                "label": "电子保单",
                "available": False,
                "available_from": None,
                "note": "出函后可下载保单",
                "state": "unavailable",
                "retry_after": None,
                "url": None,
            }
        ],
    )


# --- verification -----------------------------------------------------------------------------------


def test_verification_accepts_a_genuine_guarantee_and_refuses_a_wrong_code_or_an_altered_file(
    django_capture_on_commit_callbacks: Any,
) -> None:
    waiting = xinjiang_waiting()
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    policy, plain, sealed = _policy("xinjiang", waiting.number)
    anyone = Api("xinjiang.localhost")

    status, found = anyone.get("/api/v1/verify", number=guarantee, code=policy.verification_code.lower())
    assert status == 200, found
    assert (found["guarantee_number"], found["status"], found["status_label"]) == (guarantee, "valid", "有效")
    assert found["issuer"] == "国任财产保险股份有限公司"
    assert waiting.operator.enterprise.name not in str(found)  # nothing about the bidder
    wrong = "A" * 8 if policy.verification_code != "A" * 8 else "B" * 8
    status, error = anyone.get("/api/v1/verify", number=guarantee, code=wrong)
    assert (status, error["code"]) == (404, "not_genuine")
    status, error = anyone.get("/api/v1/verify", number=guarantee, code="")
    assert (status, error["field"]) == (400, "code")

    def upload(content: bytes) -> tuple[int, Any]:
        file = io.BytesIO(content)
        file.name = "policy.pdf"
        response = anyone.client.post("/api/v1/verify/document", {"file": file})
        return response.status_code, response.json()

    assert upload(plain)[1]["guarantee_number"] == guarantee
    # Before opening, the sealed copy vouches for itself and tells nothing it hides.
    status, found = upload(sealed)
    assert (status, found["guarantee_number"], found["status"]) == (200, guarantee, "valid")
    assert (found["issuer"], found["section"], found["insured_amount"]) == ("", "", "")
    altered = bytearray(plain)
    at = altered.index(b"/Title")
    altered[at + 8] ^= 0x01  # one changed byte in the document's own title
    status, error = upload(bytes(altered))
    assert (status, error["code"]) == (404, "document_not_genuine")

    # Another centre's host knows nothing of it.
    status, error = Api("benxi.localhost").get("/api/v1/verify", number=guarantee, code=policy.verification_code)
    assert (status, error["code"]) == (404, "not_genuine")
    file = io.BytesIO(plain)
    file.name = "policy.pdf"
    response = Api("benxi.localhost").client.post("/api/v1/verify/document", {"file": file})
    assert (response.status_code, response.json()["code"]) == (404, "document_not_genuine")


def test_the_verification_page_answers_in_chinese_on_the_centres_host(
    django_capture_on_commit_callbacks: Any,
) -> None:
    waiting = xinjiang_waiting()
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    policy, _, _ = _policy("xinjiang", waiting.number)
    page = Api("xinjiang.localhost").client
    # The QR code on the policy leads here with both filled in.
    assert f"/verify?number={guarantee}&code={policy.verification_code}" in _text(
        _policy("xinjiang", waiting.number)[1]
    )
    response = page.get("/verify", {"number": guarantee, "code": policy.verification_code})
    html = response.content.decode()
    assert response.status_code == 200
    assert "有效" in html
    assert "国任财产保险股份有限公司" in html
    assert waiting.operator.enterprise.name not in html
    response = page.get("/verify", {"number": guarantee, "code": "WRONG123"})
    assert response.status_code == 404
    assert "验真码不正确" in response.content.decode()
    response = page.get("/verify", {"number": guarantee, "code": ""})
    assert 'id="verify-code-error"' in response.content.decode()
    assert (
        Api("benxi.localhost")
        .client.get("/verify", {"number": guarantee, "code": policy.verification_code})
        .status_code
        == 404
    )


def test_an_electronic_invoice_is_stored_when_issued_and_downloadable_by_the_bidder(
    django_capture_on_commit_callbacks: Any,
) -> None:
    waiting = benxi_like_waiting("benxi")
    _issue(waiting, django_capture_on_commit_callbacks)
    _opened("benxi", waiting.section)
    enterprise = waiting.operator.enterprise
    status, invoice = waiting.bidder.post(
        f"/api/v1/orders/{waiting.number}/invoice",
        {"form": "electronic", "type": "vat_general", "title": enterprise.name, "taxpayer_id": enterprise.uscc},
    )
    assert status == 201, invoice
    status, documents = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/documents")
    assert [(d["kind"], d["available"]) for d in documents] == [("policy", True), ("invoice", False)]
    path = f"/api/v1/issuer/invoices/{invoice['id']}"
    waiting.issuer.post(path, {"action": "start"})

    def issue(**extra: Any) -> tuple[int, Any]:
        response = waiting.issuer.client.post(path, {"action": "issue", "invoice_number": "E-0001", **extra})
        return response.status_code, response.json()

    status, error = issue()
    assert (status, error["field"]) == (400, "document")
    fake = io.BytesIO(b"\x89PNG not an invoice")
    fake.name = "invoice.pdf"
    status, error = issue(document=fake)
    assert (status, error["code"], error["field"]) == (400, "file_type", "document")
    real = _policy("benxi", waiting.number)[1]  # any real PDF stands for the tax bureau's file
    document = io.BytesIO(real)
    document.name = "invoice.pdf"
    status, issued = issue(document=document)
    assert (status, issued["state"]) == (200, "issued")
    status, documents = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/documents")
    assert [(d["kind"], d["label"], d["available"]) for d in documents][-1] == ("invoice", "电子发票 E-0001", True)
    status, content = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/documents/invoice")
    assert (status, content) == (200, real)


def test_verification_is_throttled_per_client_and_centre(monkeypatch: pytest.MonkeyPatch) -> None:
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"verify": "2/min"})
    here, there = Api("xinjiang.localhost"), Api("benxi.localhost")
    answers = [here.get("/api/v1/verify", number="BH-NONE", code="ABCDEFGH")[0] for _ in range(3)]
    assert answers == [404, 404, 429]
    status, error = here.get("/api/v1/verify", number="BH-NONE", code="ABCDEFGH")
    assert (status, error["code"]) == (429, "throttled")
    # Someone claiming another address in X-Forwarded-For is the same client.
    spoofed = here.client.get("/api/v1/verify", {"number": "BH-NONE", "code": "X"}, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert spoofed.status_code == 429
    # The count is kept per centre.
    assert there.get("/api/v1/verify", number="BH-NONE", code="ABCDEFGH")[0] == 404


def test_a_body_too_large_is_refused_before_it_is_read() -> None:
    anyone = Api("xinjiang.localhost").client
    file = io.BytesIO(b"%PDF-1.4 small")
    file.name = "policy.pdf"
    response = anyone.post("/api/v1/verify/document", {"file": file}, CONTENT_LENGTH=str(200 * 1024 * 1024))
    assert (response.status_code, response.json()["code"]) == (400, "body_too_large")


def test_a_lost_policy_task_is_made_up_by_the_sweep() -> None:
    from baohan.documents.tasks import policies_backfill_task

    waiting = xinjiang_waiting()
    status, _ = waiting.issuer.post(
        f"/api/v1/issuer/orders/{waiting.number}/payment",
        {"outcome": "confirmed", "amount": str(waiting.payable), "reference": "BANK-LOST"},
    )
    # Issued without its on-commit task ever running (as if the worker were down).
    status, order = waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})
    assert (status, order["state"]) == (200, "issued")
    status, offers = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/documents")
    # Being made: said so, with when to look again; the download answers the same, with Retry-After.
    assert (offers[0]["state"], offers[0]["retry_after"], offers[0]["available"]) == ("pending", 10, False)
    assert offers[0]["note"] == "保单生成中，请约10秒后刷新"
    response = waiting.bidder.client.get(f"/api/v1/orders/{waiting.number}/documents/policy")
    assert (response.status_code, response.json()["code"], response["Retry-After"]) == (409, "policy_pending", "10")
    assert "生成中" in response.json()["message"]
    with tenant_context(tenant("xinjiang")):
        made = policies_backfill_task.delay().get()
        again = policies_backfill_task.delay().get()
        has_policy = Policy.objects.filter(order__number=waiting.number).exists()
    connection.set_schema_to_public()
    assert made >= 1
    assert has_policy
    assert again == 0  # nothing left to make
    status, offers = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/documents")
    assert offers[0]["available"] is True  # the encrypted copy, before opening
