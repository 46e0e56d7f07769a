"""CA-key login (Xuancheng) and the trading platform's hand-off (Xinjiang), through the real views.

Every refusal is checked for its code and status, for leaving the centre's rows untouched and for
leaving the client anonymous. The lockout counts failures in the public schema (django-axes).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest
from axes.models import AccessAttempt
from cryptography.hazmat.primitives import hashes, serialization
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Enterprise, Operator
from baohan.identity.democa import DemoCa, IssuedCertificate, ca_create, challenge_sign, enterprise_certificate_issue
from baohan.identity.models import AccountEvent, EnterpriseCertificate, LoginNonce
from baohan.identity.services.logins import ca_root_trust, handoff_key_set, handoff_token_make
from tests.api import phone_make, tenant, uscc_make

pytestmark = pytest.mark.django_db

XUANCHENG, XINJIANG, BENXI = "xuancheng.localhost", "xinjiang.localhost", "benxi.localhost"
ANONYMOUS_REDIRECT = "/login/?next=/account/"
KEY_ID, SECRET, ISSUER = "k1", "x" * 40, "xjggzy"


@pytest.fixture(autouse=True)
def _no_failed_logins_left_over(db: None) -> None:
    """Axes rows live in the public schema and are rolled back with each test: none are left over."""
    connection.set_schema_to_public()
    assert AccessAttempt.objects.count() == 0


def counts(code: str) -> dict[str, int]:
    models = (Enterprise, Operator, get_user_model(), EnterpriseCertificate, AccountEvent)
    with tenant_context(tenant(code)):
        return {model.__name__: model.objects.count() for model in models}


def events(code: str, username: str) -> list[str]:
    with tenant_context(tenant(code)):
        return list(AccountEvent.objects.filter(user__username=username).values_list("kind", flat=True))


def assert_anonymous(client: Client) -> None:
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == ANONYMOUS_REDIRECT


# --- CA key (xuancheng) --------------------------------------------------------------------------


def trusted_ca(name: str, **options: Any) -> DemoCa:
    ca = ca_create(name=name, **options)
    with tenant_context(tenant("xuancheng")):
        ca_root_trust(name=name, pem=ca.certificate_pem())
    return ca


def leaf(ca: DemoCa, k: int, name: str = "宣城测试建设有限公司", **options: Any) -> IssuedCertificate:
    return enterprise_certificate_issue(ca=ca, uscc=uscc_make(900000 + k), name=name, **options)


def challenge(client: Client) -> dict[str, Any]:
    response = client.post("/login/ca/challenge")
    assert response.status_code == 200, response.content
    return response.json()


def answer(
    client: Client,
    issued: IssuedCertificate | DemoCa,
    *,
    signer: IssuedCertificate | DemoCa | None = None,
    text: str | None = None,
    nonce: str | None = None,
    raw_ecdsa: bool = True,
) -> dict[str, Any]:
    """The body a CA driver posts: a fresh challenge (unless ``nonce``) signed by ``signer`` (the holder)."""
    if nonce is None:
        asked = challenge(client)
        nonce, text = asked["nonce"], text or asked["challenge"]
    text = text or f"baohan-login|xuancheng|{nonce}"
    key = signer or issued
    signed = challenge_sign(issued=key, message=text.encode(), raw_ecdsa=raw_ecdsa)  # type: ignore[arg-type]
    return {
        "nonce": nonce,
        "certificate": issued.certificate_pem(),
        "signature": base64.b64encode(signed).decode(),
        "intermediates": [],
    }


def ca_post(client: Client, body: dict[str, Any]) -> Any:
    return client.post("/login/ca/", json.dumps(body), content_type="application/json")


def test_ca_login_creates_the_enterprise_then_signs_in_again() -> None:
    ca = trusted_ca("宣城测试CA 1")
    issued = leaf(ca, 1)
    uscc, username = uscc_make(900001), f"ca-{uscc_make(900001)}"
    before = counts("xuancheng")
    client = Client(HTTP_HOST=XUANCHENG)
    asked = challenge(client)
    assert asked["challenge"] == f"baohan-login|xuancheng|{asked['nonce']}"

    response = ca_post(client, answer(client, issued, nonce=asked["nonce"], text=asked["challenge"]))
    assert response.status_code == 200, response.content
    assert response.json() == {"redirect": "/account/", "enterprise": "宣城测试建设有限公司"}
    page = client.get("/account/")
    assert page.status_code == 200
    assert "宣城测试建设有限公司" in page.content.decode()
    assert uscc in page.content.decode()
    with tenant_context(tenant("xuancheng")):
        enterprise = Enterprise.objects.get(uscc=uscc)
        assert (enterprise.name, enterprise.verification, enterprise.source) == (
            "宣城测试建设有限公司",
            Enterprise.Verification.VERIFIED,
            "certificate",
        )
        user = get_user_model().objects.get(username=username)
        assert Operator.objects.get(user=user).enterprise == enterprise
        bound = EnterpriseCertificate.objects.get(user=user)
        assert bound.fingerprint_sha256 == issued.certificate.fingerprint(hashes.SHA256()).hex()
        user_id = user.pk
    assert events("xuancheng", username) == ["enterprise_sync", "login"]
    after = counts("xuancheng")
    assert after == {name: count + (2 if name == "AccountEvent" else 1) for name, count in before.items()}

    second = Client(HTTP_HOST=XUANCHENG)
    body = answer(second, issued)
    assert ca_post(second, body).status_code == 200
    assert "宣城测试建设有限公司" in second.get("/account/").content.decode()
    assert events("xuancheng", username) == ["enterprise_sync", "login", "certificate_login", "login"]
    assert counts("xuancheng") == {**after, "AccountEvent": after["AccountEvent"] + 2}
    with tenant_context(tenant("xuancheng")):
        assert Operator.objects.get(enterprise__uscc=uscc).user_id == user_id

    # The same answer sent again (say, captured on the wire) finds its nonce used.
    thief = Client(HTTP_HOST=XUANCHENG)
    replay = ca_post(thief, body)
    assert (replay.status_code, replay.json()["code"]) == (403, "nonce_invalid")
    assert_anonymous(thief)


@pytest.mark.parametrize(
    ("key", "der_certificate", "raw_ecdsa"),
    [("rsa", True, False), ("ec", False, False), ("ec-p384", True, True)],
)
def test_ca_login_other_keys_and_encodings(key: str, der_certificate: bool, raw_ecdsa: bool) -> None:
    ca = trusted_ca(f"宣城测试CA {key}")
    issued = leaf(ca, 2, key=key)
    client = Client(HTTP_HOST=XUANCHENG)
    body = answer(client, issued, raw_ecdsa=raw_ecdsa)
    if der_certificate:
        body["certificate"] = base64.b64encode(issued.certificate.public_bytes(serialization.Encoding.DER)).decode()
    response = ca_post(client, body)
    assert response.status_code == 200, response.content
    assert client.get("/account/").status_code == 200
    with tenant_context(tenant("xuancheng")):
        assert Enterprise.objects.get(uscc=uscc_make(900002)).source == "certificate"


def _now() -> datetime:
    return timezone.now()


def _expired_certificate(client: Client, ca: DemoCa, k: int) -> dict[str, Any]:
    return answer(client, leaf(ca, k, not_before=_now() - timedelta(days=9), not_after=_now() - timedelta(days=1)))


def _replayed(client: Client, ca: DemoCa, k: int) -> dict[str, Any]:
    """The first answer takes the nonce, even a wrong one: the right signature comes too late."""
    issued = leaf(ca, k)
    first = answer(client, issued, text="not the challenge")
    assert ca_post(client, first).json()["code"] == "bad_signature"
    return answer(client, issued, nonce=first["nonce"])


def _nonce_expired(client: Client, ca: DemoCa, k: int) -> dict[str, Any]:
    body = answer(client, leaf(ca, k))
    with tenant_context(tenant("xuancheng")):
        LoginNonce.objects.filter(nonce=body["nonce"]).update(expires_at=_now() - timedelta(seconds=1))
    return body


def _nonce_of_benxi(client: Client, ca: DemoCa, k: int) -> dict[str, Any]:
    nonce = secrets.token_urlsafe(32)
    with tenant_context(tenant("benxi")):
        LoginNonce.objects.create(nonce=nonce, expires_at=_now() + timedelta(minutes=2))
    return answer(client, leaf(ca, k), nonce=nonce)


def _unknown_nonce(client: Client, ca: DemoCa, k: int) -> dict[str, Any]:
    return answer(client, leaf(ca, k), nonce=secrets.token_urlsafe(32))


def _other_centres_text(client: Client, ca: DemoCa, k: int) -> dict[str, Any]:
    asked = challenge(client)
    return answer(client, leaf(ca, k), nonce=asked["nonce"], text=f"baohan-login|benxi|{asked['nonce']}")


def _another_key(client: Client, ca: DemoCa, k: int) -> dict[str, Any]:
    return answer(client, leaf(ca, k), signer=leaf(ca, k))


def _garbage(client: Client, ca: DemoCa, k: int) -> dict[str, Any]:
    return {**answer(client, leaf(ca, k)), "certificate": "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n"}


REFUSALS: dict[str, tuple[Callable[[Client, DemoCa, int], dict[str, Any]], str]] = {
    "expired": (_expired_certificate, "expired"),
    "not_yet_valid": (lambda c, ca, k: answer(c, leaf(ca, k, not_before=_now() + timedelta(days=1))), "not_yet_valid"),
    "other_ca": (lambda c, ca, k: answer(c, leaf(ca_create(name="未登记CA"), k)), "untrusted"),
    "ca_as_leaf": (lambda c, ca, k: answer(c, ca), "untrusted"),
    "encryption_certificate": (lambda c, ca, k: answer(c, leaf(ca, k, key_usage_digital_signature=False)), "key_usage"),
    "email_certificate": (lambda c, ca, k: answer(c, leaf(ca, k, extended_key_usage_client_auth=False)), "key_usage"),
    "other_message": (lambda c, ca, k: answer(c, leaf(ca, k), text="baohan-login|xuancheng|other"), "bad_signature"),
    "another_key": (_another_key, "bad_signature"),
    "other_centres_text": (_other_centres_text, "bad_signature"),
    "garbage_certificate": (_garbage, "malformed_certificate"),
    "replayed_nonce": (_replayed, "nonce_invalid"),
    "expired_nonce": (_nonce_expired, "nonce_invalid"),
    "nonce_of_benxi": (_nonce_of_benxi, "nonce_invalid"),
    "unknown_nonce": (_unknown_nonce, "nonce_invalid"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_ca_login_refusals_change_nothing(case: str) -> None:
    build, code = REFUSALS[case]
    ca = trusted_ca(f"宣城测试CA {case}")
    k = 100 + list(REFUSALS).index(case)
    client = Client(HTTP_HOST=XUANCHENG)
    before = counts("xuancheng")
    response = ca_post(client, build(client, ca, k))
    assert response.status_code == 403, response.content
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert counts("xuancheng") == before
    assert_anonymous(client)
    with tenant_context(tenant("xuancheng")):
        assert not Enterprise.objects.filter(uscc=uscc_make(900000 + k)).exists()
    with tenant_context(tenant("benxi")):
        assert not LoginNonce.objects.filter(used_at__isnull=False).exists()  # benxi's nonces untouched


@pytest.mark.parametrize("host", [BENXI, XINJIANG])
@pytest.mark.parametrize("path", ["/login/ca/challenge", "/login/ca/"])
def test_ca_login_is_404_where_not_offered(host: str, path: str) -> None:
    client = Client(HTTP_HOST=host)
    assert client.post(path, "{}", content_type="application/json").status_code == 404
    with tenant_context(tenant(host.split(".")[0])):
        assert LoginNonce.objects.count() == 0


def test_ca_lockout_after_five_failures() -> None:
    ca = trusted_ca("宣城测试CA 锁定")
    issued = leaf(ca, 3)
    client = Client(HTTP_HOST=XUANCHENG)
    before = counts("xuancheng")
    statuses = [ca_post(client, answer(client, issued, text="wrong")).status_code for _ in range(5)]
    assert statuses[:4] == [403] * 4
    assert statuses[4] == 429  # the fifth failure is the one that locks
    body = answer(client, issued)
    response = ca_post(client, body)
    assert (response.status_code, response.json()["code"]) == (429, "locked")
    assert counts("xuancheng") == before
    assert_anonymous(client)
    with tenant_context(tenant("xuancheng")):
        assert LoginNonce.objects.get(nonce=body["nonce"]).used_at is None  # refused before the nonce is taken
    connection.set_schema_to_public()
    attempt = AccessAttempt.objects.get()
    assert attempt.username.startswith("cert:")
    assert attempt.failures_since_start == 5
    # Another enterprise's certificate is not locked.
    other = leaf(ca, 4)
    assert ca_post(client, answer(client, other)).status_code == 200


def test_ca_locking_failure_answers_json() -> None:
    """The failure that locks answers JSON like the others (it used to be the HTML locked page)."""
    issued = leaf(trusted_ca("宣城测试CA 锁定JSON"), 5)
    client = Client(HTTP_HOST=XUANCHENG)
    for _ in range(5):
        response = ca_post(client, answer(client, issued, text="wrong"))
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "locked"


def test_ca_lockout_holds_for_the_same_certificate_reformatted() -> None:
    """Failures count against the certificate, not its text (once the last 64 characters of it)."""
    issued = leaf(trusted_ca("宣城测试CA 锁定换行"), 6)
    client = Client(HTTP_HOST=XUANCHENG)
    for _ in range(5):
        ca_post(client, answer(client, issued, text="wrong"))
    body = answer(client, issued)
    response = ca_post(client, {**body, "certificate": body["certificate"] + "\n"})
    assert response.status_code == 429
    assert_anonymous(client)


def test_a_challenge_is_answered_from_the_browser_that_asked() -> None:
    issued = leaf(trusted_ca("宣城测试CA 会话"), 8)
    asked, other = Client(HTTP_HOST=XUANCHENG), Client(HTTP_HOST=XUANCHENG)
    response = ca_post(other, answer(asked, issued))
    assert (response.status_code, response.json()["code"]) == (403, "nonce_invalid")


def test_ca_success_resets_the_failure_count() -> None:
    """A success clears the certificate's failures (axes alone would reset 'ca-<uscc>' instead)."""
    issued = leaf(trusted_ca("宣城测试CA 重置"), 7)
    client = Client(HTTP_HOST=XUANCHENG)
    for _ in range(4):
        ca_post(client, answer(client, issued, text="wrong"))
    assert ca_post(client, answer(client, issued)).status_code == 200
    other = Client(HTTP_HOST=XUANCHENG)
    ca_post(other, answer(other, issued, text="wrong"))
    assert ca_post(other, answer(other, issued)).status_code == 200


# --- hand-off (xinjiang) -----------------------------------------------------------------------------


@pytest.fixture
def handoff_key() -> None:
    with tenant_context(tenant("xinjiang")):
        handoff_key_set(key_id=KEY_ID, secret=SECRET)


def good_token(k: int, name: str, operator: str = "张经办", centre: str = "xinjiang", **options: Any) -> str:
    with tenant_context(tenant(centre)):
        return handoff_token_make(
            key_id=KEY_ID,
            secret=SECRET,
            issuer=ISSUER,
            uscc=uscc_make(900000 + k),
            name=name,
            operator={"name": operator, "phone": phone_make(900000 + k)},
            **options,
        )


def crafted_token(k: int, *, secret: str = SECRET, kid: str = KEY_ID, **changes: Any) -> str:
    """A token built by hand: ``changes`` replace claims (None removes one)."""
    now = int(timezone.now().timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": "baohan:xinjiang",
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        "uscc": uscc_make(900000 + k),
        "name": "新疆测试建设有限公司",
        "operator": {"name": "李经办", "phone": phone_make(900000 + k)},
    }
    claims.update(changes)
    claims = {key: value for key, value in claims.items() if value is not None}
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid})


def unsigned_token(k: int) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = jwt.decode(crafted_token(k), options={"verify_signature": False})
    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': KEY_ID})}.{part(claims)}."


def test_handoff_creates_then_updates_the_enterprise(handoff_key: None) -> None:
    uscc, phone = uscc_make(900010), phone_make(900010)
    username = f"handoff-{uscc}-{phone}"
    before = counts("xinjiang")
    client = Client(HTTP_HOST=XINJIANG)
    response = client.get("/login/handoff", {"token": good_token(10, "新疆测试建设有限公司")})
    assert (response.status_code, response["Location"]) == (302, "/account/")
    page = client.get("/account/").content.decode()
    for shown in ("新疆测试建设有限公司", uscc, "张经办"):
        assert shown in page
    with tenant_context(tenant("xinjiang")):
        enterprise = Enterprise.objects.get(uscc=uscc)
        assert (enterprise.verification, enterprise.source) == (Enterprise.Verification.VERIFIED, "handoff")
        operator = Operator.objects.get(user__username=username)
        assert (operator.name, operator.phone, operator.enterprise) == ("张经办", phone, enterprise)
        user_id = operator.user_id
    after = counts("xinjiang")
    assert after == {
        **before,
        "Enterprise": before["Enterprise"] + 1,
        "Operator": before["Operator"] + 1,
        "User": before["User"] + 1,
        "AccountEvent": before["AccountEvent"] + 2,
    }

    second = Client(HTTP_HOST=XINJIANG)
    renamed = good_token(10, "新疆测试建设集团有限公司", operator="张经办人")
    assert second.get("/login/handoff", {"token": renamed}).status_code == 302
    assert "新疆测试建设集团有限公司" in second.get("/account/").content.decode()
    with tenant_context(tenant("xinjiang")):
        assert Enterprise.objects.get(uscc=uscc).name == "新疆测试建设集团有限公司"
        operator = Operator.objects.get(user__username=username)
        assert (operator.user_id, operator.name) == (user_id, "张经办人")
    assert counts("xinjiang") == {**after, "AccountEvent": after["AccountEvent"] + 2}
    assert events("xinjiang", username) == ["enterprise_sync", "login", "handoff_login", "login"]


HANDOFF_REFUSALS: dict[str, tuple[Callable[[int], str], str, str]] = {
    "expired": (lambda k: crafted_token(k, iat=_ts(-100), exp=_ts(-10)), "token_expired", "登录凭证已过期"),
    "too_long": (lambda k: good_token(k, "新疆测试", lifetime_seconds=301), "token_lifetime", "登录凭证有效期过长"),
    "wrong_secret": (lambda k: crafted_token(k, secret="y" * 40), "token_bad_signature", "登录凭证签名无效"),
    "unknown_kid": (lambda k: crafted_token(k, kid="k2"), "token_unknown_key", "登录凭证的签名密钥未登记"),
    "wrong_issuer": (lambda k: crafted_token(k, iss="someone-else"), "token_invalid", "登录凭证无效"),
    "for_benxi": (lambda k: good_token(k, "新疆测试", centre="benxi"), "token_wrong_audience", "不是签发给本中心"),
    "alg_none": (unsigned_token, "token_invalid", "登录凭证无效"),
    "no_jti": (lambda k: crafted_token(k, jti=None), "token_invalid", "登录凭证无效"),
    "bad_uscc": (lambda k: crafted_token(k, uscc="91110000000000000X"), "token_contents", "登录凭证内容无效"),
    "bad_phone": (lambda k: crafted_token(k, operator={"name": "李", "phone": "123"}), "token_contents", "内容无效"),
    "no_operator": (lambda k: crafted_token(k, operator=None), "token_contents", "登录凭证缺少经办人信息"),
    "no_name": (lambda k: crafted_token(k, name=" "), "token_contents", "缺少企业名称或经办人姓名"),
    "garbage": (lambda k: "not-a-token", "token_malformed", "登录凭证格式错误"),
    "empty": (lambda k: "", "token_malformed", "登录凭证格式错误"),
}


def _ts(seconds: int) -> int:
    return int(timezone.now().timestamp()) + seconds


def handoff_refused(client: Client, token: str, code: str, text: str, caplog: pytest.LogCaptureFixture) -> None:
    before = counts("xinjiang")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="baohan.identity"):
        response = client.get("/login/handoff", {"token": token})
    assert response.status_code == 403
    assert text in response.content.decode()
    warnings = [r.getMessage() for r in caplog.records if r.name == "baohan.identity" and r.levelno == logging.WARNING]
    assert warnings == [f"hand-off refused on xinjiang: {code}"]
    assert counts("xinjiang") == before
    assert_anonymous(client)


@pytest.mark.parametrize("case", list(HANDOFF_REFUSALS))
def test_handoff_refusals_change_nothing(case: str, handoff_key: None, caplog: pytest.LogCaptureFixture) -> None:
    build, code, text = HANDOFF_REFUSALS[case]
    k = 200 + list(HANDOFF_REFUSALS).index(case)
    handoff_refused(Client(HTTP_HOST=XINJIANG), build(k), code, text, caplog)
    with tenant_context(tenant("xinjiang")):
        assert not Enterprise.objects.filter(uscc=uscc_make(900000 + k)).exists()


def test_handoff_token_is_accepted_once(handoff_key: None, caplog: pytest.LogCaptureFixture) -> None:
    token = good_token(11, "新疆测试建设有限公司")
    assert Client(HTTP_HOST=XINJIANG).get("/login/handoff", {"token": token}).status_code == 302
    handoff_refused(Client(HTTP_HOST=XINJIANG), token, "token_replayed", "登录凭证已使用", caplog)


def test_handoff_long_enterprise_name_is_cut(handoff_key: None) -> None:
    """A new enterprise's name is cut to its column (it used to raise DataError: a 500, token burnt)."""
    client = Client(HTTP_HOST=XINJIANG)
    assert client.get("/login/handoff", {"token": crafted_token(12, name="长" * 201)}).status_code == 302
    with tenant_context(tenant("xinjiang")):
        assert Enterprise.objects.get(uscc=uscc_make(900012)).name == "长" * 200


@pytest.mark.parametrize("host", [XUANCHENG, BENXI])
def test_handoff_is_404_where_not_offered(host: str) -> None:
    assert Client(HTTP_HOST=host).get("/login/handoff", {"token": "x"}).status_code == 404


def test_handoff_session_stays_on_its_centre(handoff_key: None) -> None:
    client = Client(HTTP_HOST=XINJIANG)
    assert client.get("/login/handoff", {"token": good_token(13, "新疆会话测试有限公司")}).status_code == 302
    session_key = client.cookies["sessionid"].value
    assert client.get("/api/v1/orders/").status_code == 200

    elsewhere = Client(HTTP_HOST=BENXI)
    elsewhere.cookies["sessionid"] = session_key
    assert_anonymous(elsewhere)
    assert elsewhere.get("/api/v1/orders/").status_code in (401, 403)

    # Even the session row itself, copied into benxi's schema, is not honoured there.
    with tenant_context(tenant("xinjiang")):
        row = Session.objects.get(session_key=session_key)
    with tenant_context(tenant("benxi")):
        Session.objects.create(session_key=session_key, session_data=row.session_data, expire_date=row.expire_date)
    elsewhere.cookies["sessionid"] = session_key
    assert elsewhere.get("/api/v1/orders/").status_code in (401, 403)
    elsewhere.cookies["sessionid"] = session_key
    assert_anonymous(elsewhere)

    page = client.get("/account/")
    assert page.status_code == 200
    assert "新疆会话测试有限公司" in page.content.decode()


def test_a_certificate_login_puts_a_proven_phone_on_record_and_applies() -> None:
    """The certificate carries no phone: the first application proves one by SMS and keeps it."""
    from tests.api import captcha_answer, centre_api, outbox_code, section_payload

    client = Client(HTTP_HOST=XUANCHENG)
    assert ca_post(client, answer(client, leaf(trusted_ca("宣城测试CA 申请"), 9))).status_code == 200
    centre_api("xuancheng").put("/api/v1/centre/sections/XC-CA-1", section_payload(project_type="construction"))
    phone = phone_make(990009)

    def code_for(number: str) -> Any:
        key = client.post("/api/v1/captcha").json()["key"]
        body = {
            "purpose": "application",
            "captcha_key": key,
            "captcha": captcha_answer("xuancheng", key),
            "phone": number,
        }
        return client.post("/api/v1/sms-codes", body, content_type="application/json")

    assert code_for("12345").json()["field"] == "phone"
    assert code_for(phone).status_code == 201
    form = {
        "operator_name": "李经办",
        "operator_phone": phone,
        "captcha": "-",
        "sms_code": outbox_code("xuancheng", phone),
    }
    request = {"section": "XC-CA-1", "deposit_kind": "bid", "issuer_kind": "insurer", "form": form}
    response = client.post("/api/v1/orders/", request, content_type="application/json")
    assert response.status_code == 201, response.json()
    with tenant_context(tenant("xuancheng")):
        operator = Operator.objects.get(
            user__username__startswith="ca-", enterprise__name="宣城测试建设有限公司", phone=phone
        )
    connection.set_schema_to_public()
    assert operator.phone == phone
    # Now on record, another phone is refused.
    from django.core.cache import caches

    caches["global"].clear()
    assert code_for(phone_make(990010)).json()["code"] == "operator_check_failed"
