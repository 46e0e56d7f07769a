"""企业信息认证 (Benxi): a registered account submits the enterprise's documents, the centre
reviews them, and only an approved enterprise may apply. ID numbers are encrypted and masked."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from baohan.guarantees.models import Enterprise, Operator
from baohan.identity.models import EnterpriseVerification, UserPhone
from tests.api import Api, bomb_png, centre_api, issuer_api, phone_make, png_bytes, section_payload, tenant, uscc_make
from tests.test_scenario_benxi import benxi_form

pytestmark = pytest.mark.django_db

ID_NUMBER = "21050219800101123X"


def account(code: str, n: int) -> Api:
    """A registered bidder account with no enterprise yet (as after 新用户注册)."""
    with tenant_context(tenant(code)):
        user = get_user_model().objects.create_user(username=f"reg{n}", password="pw-2026-reg")
        UserPhone.objects.create(user=user, phone=phone_make(n), verified=True)
        token = Token.objects.create(user=user)
    connection.set_schema_to_public()
    return Api(f"{code}.localhost", f"Token {token.key}")


def counts() -> tuple[int, int, int]:
    with tenant_context(tenant("benxi")):
        out = (EnterpriseVerification.objects.count(), Enterprise.objects.count(), Operator.objects.count())
    connection.set_schema_to_public()
    return out


def form(licence: str, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "enterprise_name": f"本溪测试建设有限公司{n}",
        "enterprise_uscc": uscc_make(n),
        "legal_rep_name": "王法人",
        "legal_rep_id_type": "resident_id_card",
        "legal_rep_id_number": ID_NUMBER,
        "business_licence": licence,
        "enterprise_nature": "private",
        "enterprise_location": "辽宁省本溪市",
        "enterprise_address": "本溪市平山区测试路1号",
        **extra,
    }


def test_verification_is_reviewed_and_gates_applications() -> None:
    bidder = account("benxi", 810001)
    centre = centre_api("benxi")
    centre.put("/api/v1/centre/sections/BX-EV-1", section_payload(project_type="housing", amount="20000.00"))
    order = {"section": "BX-EV-1", "deposit_kind": "bid", "issuer_kind": "insurer", "issuer_codes": ["zijin"]}

    status, error = bidder.post("/api/v1/orders/", {**order, "form": benxi_form()})
    # Told what is wrong and what to do next, not that the account is no bidder's.
    assert (status, error["code"]) == (403, "enterprise_not_verified")
    assert "请先在「用户中心 → 企业信息认证」提交企业信息" in error["message"], error
    status, error = bidder.get("/api/v1/enterprise-verification")
    assert (status, error["code"]) == (404, "verification_not_found")

    status, licence = bidder.upload("/api/v1/uploads", "business_licence", "licence.png", png_bytes())
    assert status == 201, licence
    status, submitted = bidder.post("/api/v1/enterprise-verification", {"form": form(licence["id"], 810001)})
    assert status == 201, submitted
    assert submitted["state"] == "pending"
    assert submitted["legal_rep_id_number"] == "*" * 14 + "123X"
    with tenant_context(tenant("benxi")):
        raw = connection.cursor()
        raw.execute("SELECT legal_rep_id_number FROM identity_enterpriseverification WHERE id = %s", [submitted["id"]])
        stored = raw.fetchone()[0]
    connection.set_schema_to_public()
    assert stored.startswith("fernet:")
    assert ID_NUMBER not in stored

    before = counts()
    status, error = bidder.post("/api/v1/enterprise-verification", {"form": form(licence["id"], 810001)})
    assert (status, error["code"]) == (409, "verification_pending")
    assert counts() == before
    status, error = bidder.post("/api/v1/orders/", {**order, "form": benxi_form()})
    assert (status, error["code"]) == (403, "enterprise_not_verified")
    assert "审核中" in error["message"], error

    # The centre's queue: an issuer may not review; a rejection needs a reason.
    status, _ = issuer_api("benxi", "zijin").get("/api/v1/centre/enterprise-verifications/")
    assert status == 403
    status, queue = centre.get("/api/v1/centre/enterprise-verifications/")
    assert [v["id"] for v in queue["results"]] == [submitted["id"]]
    assert queue["results"][0]["legal_rep_id_number"].endswith("123X")
    review = f"/api/v1/centre/enterprise-verifications/{submitted['id']}/review"
    status, error = centre.post(review, {"approve": False})
    assert (status, error["field"]) == (400, "reason")
    status, rejected = centre.post(review, {"approve": False, "reason": "营业执照不清晰"})
    assert (status, rejected["state"]) == (200, "rejected")
    _, mine = bidder.get("/api/v1/enterprise-verification")
    assert (mine["state"], mine["reason"]) == ("rejected", "营业执照不清晰")
    status, error = bidder.get("/api/v1/orders/")
    assert (status, error["code"]) == (403, "enterprise_not_verified")
    assert "未通过（营业执照不清晰）：请在「用户中心 → 企业信息认证」修改后重新提交" in error["message"], error
    status, error = centre.post(review, {"approve": True})
    assert (status, error["code"]) == (409, "verification_reviewed")

    status, again = bidder.post("/api/v1/enterprise-verification", {"form": form(licence["id"], 810001)})
    assert status == 201
    status, approved = centre.post(f"/api/v1/centre/enterprise-verifications/{again['id']}/review", {"approve": True})
    assert (status, approved["state"]) == (200, "approved")
    with tenant_context(tenant("benxi")):
        enterprise = Enterprise.objects.get(uscc=uscc_make(810001))
        assert enterprise.verification == "verified"
        assert enterprise.legal_rep_id_number == ID_NUMBER
        assert (enterprise.nature, enterprise.location) == ("private", "辽宁省本溪市")
        assert Operator.objects.get(user__username="reg810001").enterprise == enterprise
    connection.set_schema_to_public()
    status, created = bidder.post("/api/v1/orders/", {**order, "form": benxi_form()})
    assert status == 201, created

    # Another centre's credential sees nothing of it.
    status, other = centre_api("xinjiang").get("/api/v1/centre/enterprise-verifications/")
    assert (status, other["results"]) == (200, [])
    status, _ = centre_api("xinjiang").post(
        f"/api/v1/centre/enterprise-verifications/{again['id']}/review", {"approve": True}
    )
    assert status == 404


def test_bad_submissions_change_nothing() -> None:
    bidder = account("benxi", 810002)
    other = account("benxi", 810003)
    before = counts()
    text = b"MZ\x90\x00 not an image at all"
    status, error = bidder.upload("/api/v1/uploads", "business_licence", "licence.png", text)
    assert (status, error["code"], error["field"]) == (400, "file_type", "file")
    status, error = bidder.upload("/api/v1/uploads", "business_licence", "licence.png", bomb_png())
    assert (status, error["code"], error["field"]) == (400, "file_type", "file")  # not a 500
    status, error = bidder.upload("/api/v1/uploads", "business_licence", "licence.pdf", b"%PDF-1.4\n%%EOF")
    assert (status, error["code"]) == (400, "file_type")  # the pack takes jpg/png only
    big = png_bytes() + b"\0" * (10 * 1024 * 1024)
    status, error = bidder.upload("/api/v1/uploads", "business_licence", "licence.png", big)
    assert (status, error["code"]) == (400, "file_too_large")
    _, licence = bidder.upload("/api/v1/uploads", "business_licence", "licence.png", png_bytes())
    _, theirs = other.upload("/api/v1/uploads", "business_licence", "licence.png", png_bytes())
    cases = [
        (form(licence["id"], 810002, enterprise_uscc="91110000123456789X"), "enterprise_uscc"),
        (form(licence["id"], 810002, legal_rep_id_type="alien"), "legal_rep_id_type"),
        (form("", 810002), "business_licence"),
        (form(theirs["id"], 810002), "business_licence"),
        (form(licence["id"], 810002, legal_rep_name=""), "legal_rep_name"),
    ]
    for values, field in cases:
        status, error = bidder.post("/api/v1/enterprise-verification", {"form": values})
        assert (status, error["field"]) == (400, field), error
    assert counts() == before
    # Centres whose enterprises come from the trading platform take no submissions.
    xj = account("xinjiang", 810004)
    status, error = xj.post("/api/v1/enterprise-verification", {"form": {}})
    assert (status, error["code"]) == (403, "verification_not_offered")


def test_an_unverified_enterprise_cannot_apply_where_the_pack_reviews_enterprises() -> None:
    from tests.api import bidder_api

    bidder, operator = bidder_api("benxi")
    with tenant_context(tenant("benxi")):
        Enterprise.objects.filter(pk=operator.enterprise_id).update(verification="pending")
    connection.set_schema_to_public()
    centre_api("benxi").put("/api/v1/centre/sections/BX-EV-2", section_payload(project_type="housing", amount="1.00"))
    order = {"section": "BX-EV-2", "deposit_kind": "bid", "issuer_kind": "insurer", "issuer_codes": ["zijin"]}
    status, error = bidder.post("/api/v1/orders/", {**order, "form": benxi_form()})
    assert (status, error["code"]) == (403, "enterprise_not_verified")
    assert "企业信息认证" in error["message"], error


def test_the_verification_page_submits_and_shows_the_state() -> None:
    import io

    from django.test import Client

    c = Client(HTTP_HOST="benxi.localhost")
    with tenant_context(tenant("benxi")):
        user = get_user_model().objects.create_user(username="reg810005", password="pw-2026-reg")
        UserPhone.objects.create(user=user, phone=phone_make(810005), verified=True)
    connection.set_schema_to_public()
    assert c.post("/accounts/login/", {"login": phone_make(810005), "password": "pw-2026-reg"}).status_code == 302
    page = c.get("/account/enterprise/").content.decode()
    assert "统一社会信用证代码" in page  # the pack's own label
    values = form("", 810005)
    values.pop("business_licence")
    licence = io.BytesIO(png_bytes())
    licence.name = "licence.png"
    response = c.post("/account/enterprise/", {**values, "legal_rep_id_number": ID_NUMBER, "business_licence": licence})
    assert response.status_code == 302
    page = c.get("/account/").content.decode()
    assert "审核中" in page
    assert ID_NUMBER not in page


def test_a_refused_page_submission_keeps_none_of_its_uploads() -> None:
    import io

    from django.test import Client

    from baohan.guarantees.models import Upload

    c = Client(HTTP_HOST="benxi.localhost")
    with tenant_context(tenant("benxi")):
        user = get_user_model().objects.create_user(username="reg810006", password="pw-2026-reg")
        UserPhone.objects.create(user=user, phone=phone_make(810006), verified=True)
        uploads = Upload.objects.count()
    connection.set_schema_to_public()
    c.post("/accounts/login/", {"login": phone_make(810006), "password": "pw-2026-reg"})
    values = form("", 810006, enterprise_uscc="91110000123456789X")
    values.pop("business_licence")
    licence = io.BytesIO(png_bytes())
    licence.name = "licence.png"
    response = c.post("/account/enterprise/", {**values, "business_licence": licence})
    assert response.status_code == 400
    assert 'data-field="enterprise_uscc"' in response.content.decode()
    with tenant_context(tenant("benxi")):
        assert Upload.objects.count() == uploads
        assert not EnterpriseVerification.objects.filter(user=user).exists()
    connection.set_schema_to_public()


def test_the_apply_page_tells_an_unverified_account_what_to_do_next() -> None:
    from django.test import Client

    centre_api("benxi").put("/api/v1/centre/sections/BX-EV-3", section_payload(project_type="housing", amount="1.00"))
    c = Client(HTTP_HOST="benxi.localhost")
    with tenant_context(tenant("benxi")):
        user = get_user_model().objects.create_user(username="reg810007", password="pw-2026-reg")
        UserPhone.objects.create(user=user, phone=phone_make(810007), verified=True)
    connection.set_schema_to_public()
    assert c.post("/accounts/login/", {"login": phone_make(810007), "password": "pw-2026-reg"}).status_code == 302
    response = c.get("/sections/BX-EV-3/apply", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/account/"
    assert "企业信息尚未认证：请先在「用户中心 → 企业信息认证」提交企业信息" in page
    assert "仅投标人账户可以访问" not in page
