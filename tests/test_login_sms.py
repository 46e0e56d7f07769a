"""Benxi's way in: registration with phone, image captcha, SMS code and the service terms;
password login; login by SMS code; password reset by SMS; and the limits on codes (the limits on
sends are in tests/test_sms_caps.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.identity.models import SmsCode, SmsMessage, UserPhone
from tests.api import bidder_api, captcha_answer, outbox_code, phone_make, sms_limits_waive, tenant

pytestmark = pytest.mark.django_db

HOST = "benxi.localhost"


def client(host: str = HOST) -> Client:
    return Client(HTTP_HOST=host)


def captcha(c: Client, code: str, path: str) -> dict[str, str]:
    """Open the page, read the captcha key it rendered, answer it as a person would."""
    html = c.get(path).content.decode()
    key = html.split('name="captcha_0" value="', 1)[1].split('"', 1)[0]
    return {"captcha_0": key, "captcha_1": captcha_answer(code, key)}


def rows(code: str = "benxi") -> dict[str, int]:
    with tenant_context(tenant(code)):
        counts = {
            "users": get_user_model().objects.count(),
            "phones": UserPhone.objects.count(),
            "messages": SmsMessage.objects.count(),
        }
    connection.set_schema_to_public()
    return counts


def signup_code(c: Client, phone: str) -> Any:
    """获取验证码 on 新用户注册: the picture check first, then the code to the phone."""
    html = c.get("/accounts/signup/").content.decode()
    key = html.split('name="captcha_key" value="', 1)[1].split('"', 1)[0]
    return c.post(
        "/accounts/signup/code", {"phone": phone, "captcha_key": key, "captcha": captcha_answer("benxi", key)}
    )


def signup(c: Client, phone: str, **extra: Any) -> Any:
    data = {
        "phone": phone,
        "password1": "Str0ng-pass-2026",
        "password2": "Str0ng-pass-2026",
        "consent_user_service_agreement": "on",
        "sms_code": "",
        **extra,
    }
    return c.post("/accounts/signup/", data)


def logged_in(c: Client) -> bool:
    return c.get("/account/").status_code == 200


def test_registration_takes_the_code_sent_to_the_phone() -> None:
    c = client()
    phone = phone_make(700001)
    assert signup_code(c, phone).status_code == 201
    code = outbox_code("benxi", phone)
    assert len(code) == 6
    assert code.isdigit()
    # A wrong code is refused and changes nothing.
    response = signup(c, phone, sms_code="000000" if code != "000000" else "111111")
    assert response.status_code == 200
    assert "短信验证码错误" in response.content.decode()
    assert not logged_in(c)
    with tenant_context(tenant("benxi")):
        assert not UserPhone.objects.filter(phone=phone).exists()
    connection.set_schema_to_public()
    response = signup(c, phone, sms_code=code)
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert logged_in(c)
    with tenant_context(tenant("benxi")):
        assert UserPhone.objects.get(phone=phone).verified is True
    connection.set_schema_to_public()
    # Signed in, the bidder still has no enterprise: the account page offers 企业信息认证.
    page = c.get("/account/").content.decode()
    assert "企业信息认证" in page


def test_registration_refusals_change_nothing() -> None:
    c = client()
    phone = phone_make(700002)
    before = rows()
    # Without agreeing to the service terms.
    response = signup(c, phone, consent_user_service_agreement="")
    assert response.status_code == 200
    assert "请阅读并同意" in response.content.decode()
    # Without a code, or with one never sent.
    response = signup(c, phone)
    assert response.status_code == 200
    assert "请填写短信验证码" in response.content.decode()
    response = signup(c, phone, sms_code="123456")
    assert response.status_code == 200
    assert "请先获取短信验证码" in response.content.decode()
    # Wrong captcha: no code is sent (the challenge is spent either way).
    html = c.get("/accounts/signup/").content.decode()
    key = html.split('name="captcha_key" value="', 1)[1].split('"', 1)[0]
    response = c.post("/accounts/signup/code", {"phone": phone, "captcha_key": key, "captcha": "wrong"})
    assert response.status_code == 400
    assert response.json()["message"] == "图形验证码错误"
    # Not a mainland mobile number.
    response = signup(c, "2381234567")
    assert response.status_code == 200
    assert "手机号" in response.content.decode()
    assert signup_code(c, "2381234567").status_code == 400
    assert rows() == before
    # A phone already registered gets no code.
    _, operator = bidder_api("benxi")
    response = signup_code(c, operator.phone)
    assert response.status_code == 400
    assert response.json()["code"] == "phone_taken"
    response = signup(c, operator.phone)
    assert response.status_code == 200
    assert rows() == before | {"users": before["users"] + 1, "phones": before["phones"] + 1}


def test_registration_is_not_offered_where_the_pack_says_no() -> None:
    for host in ("xinjiang.localhost", "xuancheng.localhost"):
        assert client(host).get("/accounts/signup/").status_code == 404
        assert client(host).get("/accounts/login/").status_code == 404
        assert client(host).get("/login/reset/").status_code == 404
    assert client().get("/accounts/password/reset/").status_code == 404  # email resets are never offered


def test_password_login_and_login_by_code() -> None:
    _, operator = bidder_api("benxi", password="Pw-2026-benxi")
    c = client()
    response = c.post("/accounts/login/", {"login": operator.phone, "password": "wrong"})
    assert response.status_code == 200
    assert not logged_in(c)
    response = c.post("/accounts/login/", {"login": operator.phone, "password": "Pw-2026-benxi"})
    assert response.status_code == 302
    assert logged_in(c)

    c = client()
    response = c.post(
        "/accounts/login/code/", {"phone": operator.phone, **captcha(c, "benxi", "/accounts/login/code/")}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    code = outbox_code("benxi", operator.phone)
    for wrong in ("000001", "000002"):
        response = c.post("/accounts/login/code/confirm/", {"code": wrong})
        assert response.status_code == 200
        assert not logged_in(c)
    response = c.post("/accounts/login/code/confirm/", {"code": code})
    assert response.status_code == 302
    assert logged_in(c)


def test_a_login_code_allows_three_tries() -> None:
    _, operator = bidder_api("benxi")
    c = client()
    c.post("/accounts/login/code/", {"phone": operator.phone, **captcha(c, "benxi", "/accounts/login/code/")})
    code = outbox_code("benxi", operator.phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        c.post("/accounts/login/code/confirm/", {"code": wrong})
    response = c.post("/accounts/login/code/confirm/", {"code": code})
    assert not logged_in(c), "the right code after three wrong tries must not sign in"
    assert response.status_code in (200, 302)


def test_operator_codes_expire_allow_three_tries_and_are_used_once() -> None:
    from baohan.guarantees.errors import InvalidInput
    from baohan.identity.services.sms import sms_code_issue, sms_code_verify

    phone = phone_make(700020)
    with tenant_context(tenant("benxi")):
        sms_code_issue(phone=phone, purpose="abandon")
        code = SmsMessage.objects.filter(phone=phone).latest("created_at").params["code"]
        wrong = "000000" if code != "000000" else "111111"

        def refused(value: str, purpose: str = "abandon") -> str:
            with pytest.raises(InvalidInput) as exc:
                sms_code_verify(phone=phone, purpose=purpose, code=value)
            return exc.value.code

        assert refused(code, purpose="refund_account") == "sms_code_missing"  # a code serves one purpose
        assert refused(wrong) == "sms_code_wrong"
        sms_code_verify(phone=phone, purpose="abandon", code=code)
        assert refused(code) == "sms_code_missing"  # used once

        sms_limits_waive("benxi", phone, "abandon")  # the interval passes
        sms_code_issue(phone=phone, purpose="abandon")
        code = SmsMessage.objects.filter(phone=phone).latest("created_at").params["code"]
        for _ in range(3):
            assert refused(wrong) == "sms_code_wrong"
        assert refused(code) == "sms_code_exhausted"

        sms_limits_waive("benxi", phone, "abandon")
        sms_code_issue(phone=phone, purpose="abandon")
        code = SmsMessage.objects.filter(phone=phone).latest("created_at").params["code"]
        SmsCode.objects.filter(phone=phone, used_at__isnull=True).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        assert refused(code) == "sms_code_expired"
        assert SmsCode.objects.filter(phone=phone).exclude(code_hash="").filter(code_hash=code).count() == 0  # hashed
    connection.set_schema_to_public()


def test_a_code_sent_on_one_centre_is_worthless_on_another() -> None:
    from baohan.guarantees.errors import InvalidInput
    from baohan.identity.services.sms import sms_code_issue, sms_code_verify

    phone = phone_make(700021)
    with tenant_context(tenant("benxi")):
        sms_code_issue(phone=phone, purpose="application")
        code = SmsMessage.objects.filter(phone=phone).latest("created_at").params["code"]
    with tenant_context(tenant("xinjiang")), pytest.raises(InvalidInput) as exc:
        sms_code_verify(phone=phone, purpose="application", code=code)
    assert exc.value.code == "sms_code_missing"
    connection.set_schema_to_public()


def test_password_reset_by_sms() -> None:
    _, operator = bidder_api("benxi", password="Old-pass-2026")
    c = client()
    response = c.post("/login/reset/", {"phone": phone_make(700099), **captcha(c, "benxi", "/login/reset/")})
    assert response.status_code == 200
    assert "该手机号未注册" in response.content.decode()
    response = c.post("/login/reset/", {"phone": operator.phone, **captcha(c, "benxi", "/login/reset/")})
    assert response.status_code == 302
    code = outbox_code("benxi", operator.phone)
    wrong = "000000" if code != "000000" else "111111"
    response = c.post(
        "/login/reset/confirm/", {"code": wrong, "password1": "New-pass-2026", "password2": "New-pass-2026"}
    )
    assert response.status_code == 200
    assert "短信验证码错误" in response.content.decode()
    response = c.post("/login/reset/confirm/", {"code": code, "password1": "New-pass-2026", "password2": "Other-2026"})
    assert response.status_code == 200
    assert "两次输入的密码不一致" in response.content.decode()
    response = c.post(
        "/login/reset/confirm/", {"code": code, "password1": "New-pass-2026", "password2": "New-pass-2026"}
    )
    assert response.status_code == 302
    c = client()
    assert c.post("/accounts/login/", {"login": operator.phone, "password": "Old-pass-2026"}).status_code == 200
    assert c.post("/accounts/login/", {"login": operator.phone, "password": "New-pass-2026"}).status_code == 302


def test_repeated_failures_lock_the_phone_on_its_centre_only_and_not_on_the_admin_login() -> None:
    _, operator = bidder_api("benxi", password="Pw-2026-lock")
    c = client()
    for _ in range(3):
        c.post("/accounts/login/", {"login": operator.phone, "password": "wrong"})
    # The platform's admin login counts on its own (tests/reliability/test_lockout.py).
    admin = Client(HTTP_HOST="localhost")
    for _ in range(5):
        admin.post("/admin/login/", {"username": operator.phone, "password": "wrong"})
    assert client().post("/accounts/login/", {"login": operator.phone, "password": "Pw-2026-lock"}).status_code == 302
    for _ in range(5):
        c.post("/accounts/login/", {"login": operator.phone, "password": "wrong"})
    response = client().post("/accounts/login/", {"login": operator.phone, "password": "Pw-2026-lock"})
    assert response.status_code == 429
    assert "账户已锁定" in response.content.decode()
    assert not logged_in(c)


def test_dev_outbox_is_a_debug_only_page(settings: Any) -> None:
    phone = phone_make(700030)
    from baohan.identity.services.sms import sms_code_issue

    with tenant_context(tenant("benxi")):
        sms_code_issue(phone=phone, purpose="application")
    connection.set_schema_to_public()
    settings.DEBUG = False
    assert client().get("/dev/outbox").status_code == 404
    settings.DEBUG = True
    page = client().get("/dev/outbox").content.decode()
    assert phone in page
    assert "验证码" in page
    # Another centre's outbox does not show it.
    assert phone not in client("xinjiang.localhost").get("/dev/outbox").content.decode()
