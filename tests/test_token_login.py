"""Token login follows the pack: phone + password where the pack offers password login (Benxi,
self-registered accounts included); the trading platform's hand-off token where it offers the
hand-off (Xinjiang); a CA-key signature where it offers CA keys (Xuancheng). Password login is
refused where the pack does not offer it, for seeded demo accounts too, and nothing is made."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token

from baohan.guarantees.services.demo import DEMO_PASSWORD, DEMO_PHONE, demo_accounts_seed
from baohan.identity.democa import ca_create, challenge_sign, enterprise_certificate_issue
from baohan.identity.models import AccountEvent, UserPhone
from baohan.identity.services.logins import ca_root_trust, handoff_key_set, handoff_token_make
from tenants.selectors import tenant_rule_pack
from tests.api import Api, bidder_api, phone_make, tenant, uscc_make

pytestmark = pytest.mark.django_db


def anyone(code: str) -> Api:
    return Api(f"{code}.localhost")


def tokens(code: str) -> int:
    with tenant_context(tenant(code)):
        count = Token.objects.count()
    connection.set_schema_to_public()
    return count


def self_registered(code: str, n: int, password: str = "Self-reg-2026") -> str:  # noqa: S107 - a test password
    """An account as 新用户注册 leaves it: a phone and a password, no enterprise yet."""
    phone = phone_make(n)
    with tenant_context(tenant(code)):
        user = get_user_model().objects.create_user(username=f"reg{n}", password=password)
        UserPhone.objects.create(user=user, phone=phone, verified=True)
    connection.set_schema_to_public()
    return phone


# --- Benxi: phone + password ---------------------------------------------------------------------------


def test_benxi_self_registered_bidder_gets_a_token_with_phone_and_password() -> None:
    phone = self_registered("benxi", 720001)
    status, answer = anyone("benxi").post("/api/v1/auth/token", {"phone": phone, "password": "Self-reg-2026"})
    assert status == 200, answer
    assert answer["login_method"] == "password"
    me = Api("benxi.localhost", f"Token {answer['token']}")
    # The token is the account's: it may submit 企业信息认证, and is told to before applying.
    status, error = me.get("/api/v1/enterprise-verification")
    assert (status, error["code"]) == (404, "verification_not_found")
    status, error = me.get("/api/v1/orders/")
    assert (status, error["code"]) == (403, "enterprise_not_verified")
    # Asked again: the same token; each grant is on the account's record.
    status, again = anyone("benxi").post("/api/v1/auth/token", {"phone": phone, "password": "Self-reg-2026"})
    assert again["token"] == answer["token"]
    with tenant_context(tenant("benxi")):
        kinds = list(AccountEvent.objects.filter(user__username="reg720001").values_list("kind", flat=True))
    connection.set_schema_to_public()
    assert kinds.count("api_token") == 2


def test_benxi_bidder_and_demo_account_by_phone_or_user_name() -> None:
    _, operator = bidder_api("benxi", password="Bx-pass-2026")
    status, answer = anyone("benxi").post("/api/v1/auth/token", {"phone": operator.phone, "password": "Bx-pass-2026"})
    assert status == 200, answer
    status, orders = Api("benxi.localhost", f"Token {answer['token']}").get("/api/v1/orders/")
    assert status == 200, orders
    with tenant_context(tenant("benxi")):
        demo_accounts_seed(pack=tenant_rule_pack(tenant=tenant("benxi")), centre="benxi")
    connection.set_schema_to_public()
    for login in ({"phone": DEMO_PHONE}, {"username": "demo"}):
        status, answer = anyone("benxi").post("/api/v1/auth/token", {**login, "password": DEMO_PASSWORD})
        assert status == 200, (login, answer)


def test_benxi_wrong_password_and_bad_input_change_nothing() -> None:
    phone = self_registered("benxi", 720002)
    before = tokens("benxi")
    for body, code, field in (
        ({"phone": phone, "password": "wrong-2026"}, "invalid_credentials", "password"),
        ({"phone": phone, "password": ""}, "required", "password"),
        ({"password": "x"}, "required", "phone"),
        ({}, "required", "phone"),
        ({"phone": phone_make(720099), "password": "Self-reg-2026"}, "invalid_credentials", "password"),
    ):
        status, error = anyone("benxi").post("/api/v1/auth/token", body)
        assert (status, error["code"], error["field"]) == (400, code, field), body
    assert tokens("benxi") == before
    # The hand-off and CA key are not Benxi's ways in.
    status, error = anyone("benxi").post("/api/v1/auth/token", {"handoff_token": "x.y.z"})
    assert (status, error["code"]) == (403, "login_method_not_offered")
    status, error = anyone("benxi").post("/api/v1/auth/ca-challenge")
    assert (status, error["code"]) == (403, "login_method_not_offered")


def test_benxi_repeated_failures_lock_the_phone() -> None:
    phone = self_registered("benxi", 720003)
    for _ in range(5):
        anyone("benxi").post("/api/v1/auth/token", {"phone": phone, "password": "wrong-2026"})
    status, error = anyone("benxi").post("/api/v1/auth/token", {"phone": phone, "password": "Self-reg-2026"})
    assert (status, error["code"]) == (429, "locked")


def test_a_staff_account_gets_no_bidder_token() -> None:
    phone = phone_make(720004)
    with tenant_context(tenant("benxi")):
        user = get_user_model().objects.create_user(username="staff720004", password="Staff-2026", is_staff=True)
        UserPhone.objects.create(user=user, phone=phone, verified=True)
    connection.set_schema_to_public()
    status, error = anyone("benxi").post("/api/v1/auth/token", {"phone": phone, "password": "Staff-2026"})
    assert (status, error["code"]) == (403, "staff_account")
    assert tokens("benxi") == 0


# --- Xinjiang and Xuancheng: no password login, for demo accounts too -------------------------------------


@pytest.mark.parametrize("code", ["xinjiang", "xuancheng"])
def test_password_token_login_is_refused_where_the_pack_offers_none(code: str) -> None:
    _, operator = bidder_api(code, password="Pw-2026-xx")
    with tenant_context(tenant(code)):
        demo_accounts_seed(pack=tenant_rule_pack(tenant=tenant(code)), centre=code)
    connection.set_schema_to_public()
    before = tokens(code)
    for body in (
        {"phone": operator.phone, "password": "Pw-2026-xx"},
        {"username": operator.user.username, "password": "Pw-2026-xx"},
        {"username": "demo", "password": DEMO_PASSWORD},
        {"phone": DEMO_PHONE, "password": DEMO_PASSWORD},
    ):
        status, error = anyone(code).post("/api/v1/auth/token", body)
        assert (status, error["code"]) == (403, "login_method_not_offered"), body
        assert "密码登录" in error["message"]
    assert tokens(code) == before


def test_xinjiang_exchanges_the_trading_platforms_hand_off_for_a_token() -> None:
    with tenant_context(tenant("xinjiang")):
        handoff_key_set(key_id="tk1", secret="s" * 40)
        token = handoff_token_make(
            key_id="tk1",
            secret="s" * 40,
            issuer="xjggzy",
            uscc=uscc_make(720010),
            name="新疆令牌测试有限公司",
            operator={"name": "令牌经办", "phone": phone_make(720010)},
        )
    connection.set_schema_to_public()
    status, answer = anyone("xinjiang").post("/api/v1/auth/token", {"handoff_token": token})
    assert (status, answer["login_method"]) == (200, "platform_handoff"), answer
    status, orders = Api("xinjiang.localhost", f"Token {answer['token']}").get("/api/v1/orders/")
    assert status == 200, orders
    # Single use, like the page's hand-off.
    status, error = anyone("xinjiang").post("/api/v1/auth/token", {"handoff_token": token})
    assert (status, error["code"]) == (403, "token_replayed")
    status, error = anyone("xinjiang").post("/api/v1/auth/token", {"handoff_token": "not-a-token"})
    assert (status, error["code"]) == (403, "token_malformed")


def test_xuancheng_signs_a_challenge_with_the_ca_key_for_a_token() -> None:
    ca = ca_create(name="宣城令牌测试CA")
    with tenant_context(tenant("xuancheng")):
        ca_root_trust(name="宣城令牌测试CA", pem=ca.certificate_pem())
    connection.set_schema_to_public()
    issued = enterprise_certificate_issue(ca=ca, uscc=uscc_make(720020), name="宣城令牌测试有限公司")

    def body(challenge: dict[str, Any], signer: Any = issued) -> dict[str, Any]:
        signature = challenge_sign(issued=signer, message=challenge["challenge"].encode())
        return {
            "nonce": challenge["nonce"],
            "certificate": issued.certificate_pem(),
            "signature": base64.b64encode(signature).decode(),
        }

    status, challenge = anyone("xuancheng").post("/api/v1/auth/ca-challenge")
    assert status == 201, challenge
    status, answer = anyone("xuancheng").post("/api/v1/auth/token", body(challenge))
    assert (status, answer["login_method"]) == (200, "ca_key"), answer
    status, orders = Api("xuancheng.localhost", f"Token {answer['token']}").get("/api/v1/orders/")
    assert status == 200, orders
    # The nonce served once; a signature by another key is refused.
    status, error = anyone("xuancheng").post("/api/v1/auth/token", body(challenge))
    assert (status, error["code"]) == (403, "nonce_invalid")
    other = enterprise_certificate_issue(ca=ca, uscc=uscc_make(720021), name="别家")
    _, challenge = anyone("xuancheng").post("/api/v1/auth/ca-challenge")
    status, error = anyone("xuancheng").post("/api/v1/auth/token", body(challenge, signer=other))
    assert status == 403, error
    status, error = anyone("xuancheng").post("/api/v1/auth/token", {"nonce": "n"})
    assert (status, error["field"]) == (400, "certificate")
    # Xinjiang's hand-off is not Xuancheng's way in.
    status, error = anyone("xuancheng").post("/api/v1/auth/token", {"handoff_token": "x.y.z"})
    assert (status, error["code"]) == (403, "login_method_not_offered")


def test_on_a_development_host_the_demo_hand_off_gives_a_xinjiang_token(settings: Any) -> None:
    """What the README's walk does on ``make run``: the demo hand-off link of /dev/, exchanged for a token."""
    import re

    from baohan.identity.services.demo import demo_identity_seed

    settings.DEBUG = True
    with tenant_context(tenant("xinjiang")):
        pack = tenant_rule_pack(tenant=tenant("xinjiang"))
        demo_accounts_seed(pack=pack, centre="xinjiang")
        demo_identity_seed(pack=pack)
    connection.set_schema_to_public()
    page = anyone("xinjiang").client.get("/dev/").content.decode()
    found = re.search(r"handoff\?token=([A-Za-z0-9_.-]+)", page)
    assert found, page
    response = anyone("xinjiang").client.post("/api/v1/auth/token", {"handoff_token": found.group(1)})  # form-encoded
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    status, orders = Api("xinjiang.localhost", f"Token {token}").get("/api/v1/orders/")
    assert status == 200, orders
