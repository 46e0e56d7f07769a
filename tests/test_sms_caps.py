"""SMS send limits sized for a busy operator and honest per centre: counted per centre, phone and
purpose with caps from settings; abuse limits per client address (and an overall per-phone ceiling)
across centres; 「验证码已发送」 only where a code was sent; an operator check's code serves the
one action it was asked for (its later steps and retries) and never another."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from baohan.guarantees.errors import TooMany
from baohan.identity.models import SmsMessage
from tests.api import (
    Api,
    bidder_api,
    captcha_answer,
    centre_api,
    outbox_code,
    phone_make,
    section_payload,
    sms_code,
    tenant,
)

pytestmark = pytest.mark.django_db


def send(code: str, phone: str, purpose: str) -> None:
    from baohan.identity.services.sms import sms_code_issue

    with tenant_context(tenant(code)):
        sms_code_issue(phone=phone, purpose=purpose)
    connection.set_schema_to_public()


def refused(code: str, phone: str, purpose: str) -> TooMany:
    with pytest.raises(TooMany) as exc:
        send(code, phone, purpose)
    return exc.value


def texts(code: str, phone: str) -> int:
    with tenant_context(tenant(code)):
        count = SmsMessage.objects.filter(phone=phone).count()
    connection.set_schema_to_public()
    return count


def interval_passes(code: str, phone: str, purpose: str) -> None:
    """Only the one-per-interval window goes (the hour's count stays)."""
    from django.core.cache import caches

    from baohan.identity.services.sms import sms_limit_keys

    gap = sms_limit_keys(phone=phone, purpose=purpose, centre=tenant(code).schema_name)[0]
    caches["global"].delete(gap)


def test_the_interval_is_per_centre_phone_and_purpose() -> None:
    phone = phone_make(710001)
    send("benxi", phone, "application")
    too_soon = refused("benxi", phone, "application")
    assert too_soon.code == "sms_too_soon"
    assert "验证码已发送" in too_soon.message  # true: one was sent here, for this
    assert texts("benxi", phone) == 1
    # Another purpose on the same centre, and the same purpose on other centres, are not held back.
    send("benxi", phone, "abandon")
    send("benxi", phone, "refund_account")
    send("xinjiang", phone, "application")
    send("xuancheng", phone, "application")
    assert (texts("benxi", phone), texts("xinjiang", phone), texts("xuancheng", phone)) == (3, 1, 1)
    # Each centre's window is its own: Xinjiang now says 验证码已发送 because it did send one.
    assert refused("xinjiang", phone, "application").code == "sms_too_soon"
    assert refused("benxi", phone, "abandon").code == "sms_too_soon"


def test_the_hourly_cap_comes_from_settings_per_centre_and_purpose(settings: Any) -> None:
    settings.SMS_SEND_HOURLY_CAP = 3
    settings.SMS_SEND_HOURLY_CAPS = {"abandon": 1}
    phone = phone_make(710002)
    for _ in range(3):
        send("benxi", phone, "application")
        interval_passes("benxi", phone, "application")
    capped = refused("benxi", phone, "application")
    assert capped.code == "sms_hourly_cap"
    assert "3次" in capped.message
    assert "已发送" not in capped.message  # nothing was sent by this refusal
    assert texts("benxi", phone) == 3
    # A refused send counts nowhere: the window stays open, the next try is refused for the cap again.
    assert refused("benxi", phone, "application").code == "sms_hourly_cap"
    # Other purposes and other centres keep their own counts.
    send("xinjiang", phone, "application")
    send("benxi", phone, "abandon")
    interval_passes("benxi", phone, "abandon")
    assert refused("benxi", phone, "abandon").code == "sms_hourly_cap"  # its own cap of one
    send("benxi", phone, "refund_account")


def test_a_busy_operator_applies_for_several_sections_in_an_hour() -> None:
    """The defaults: an agent asking for an application code per section is not locked out at five."""
    bidder, operator = bidder_api("xinjiang")
    for _ in range(8):
        interval_passes("xinjiang", operator.phone, "application")
        status, captcha = bidder.post("/api/v1/captcha")
        status, sent = bidder.post(
            "/api/v1/sms-codes",
            {
                "purpose": "application",
                "captcha_key": captcha["key"],
                "captcha": captcha_answer("xinjiang", captcha["key"]),
            },
        )
        assert status == 201, sent
    assert texts("xinjiang", operator.phone) == 8


def test_sends_are_limited_per_client_across_centres(settings: Any) -> None:
    settings.SMS_SEND_CLIENT_HOURLY_CAP = 3
    callers = [bidder_api(code) for code in ("benxi", "xinjiang", "xuancheng", "benxi")]

    def ask(api: Api, code: str) -> tuple[int, Any]:
        _, captcha = api.post("/api/v1/captcha")
        return api.post(
            "/api/v1/sms-codes",
            {"purpose": "application", "captcha_key": captcha["key"], "captcha": captcha_answer(code, captcha["key"])},
        )

    for (api, _), code in zip(callers[:3], ("benxi", "xinjiang", "xuancheng"), strict=True):
        assert ask(api, code)[0] == 201
    api, operator = callers[3]
    status, error = ask(api, "benxi")  # a fourth phone, same address
    assert (status, error["code"]) == (429, "sms_client_cap")
    assert "已发送" not in error["message"]
    assert texts("benxi", operator.phone) == 0
    # Another address is not held back.
    other = Api("benxi.localhost", api.client.defaults["HTTP_AUTHORIZATION"])
    other.client.defaults["REMOTE_ADDR"] = "10.0.0.9"
    assert ask(other, "benxi")[0] == 201


def _page_captcha(c: Client, path: str) -> dict[str, str]:
    html = c.get(path).content.decode()
    key = html.split('name="captcha_0" value="', 1)[1].split('"', 1)[0]
    return {"captcha_0": key, "captcha_1": captcha_answer("benxi", key)}


def _page_send(c: Client, path: str, phone: str) -> Any:
    """获取验证码 on a signed-out page: 验证码登录 (/accounts/login/code/) or 忘记密码 (/login/reset/)."""
    return c.post(path, {"phone": phone, **_page_captcha(c, path)})


def test_the_signed_out_pages_sends_are_limited_per_client_too(settings: Any) -> None:
    """验证码登录 and 忘记密码 send to any registered phone without signing in: the same address is held to
    the same cap as the API and sign-up, counted together across centres."""
    settings.SMS_SEND_CLIENT_HOURLY_CAP = 3
    api, _ = bidder_api("xinjiang")
    _, captcha = api.post("/api/v1/captcha")
    status, _ = api.post(
        "/api/v1/sms-codes",
        {
            "purpose": "application",
            "captcha_key": captcha["key"],
            "captcha": captcha_answer("xinjiang", captcha["key"]),
        },
    )
    assert status == 201  # one send from this address, on another centre
    phones = [bidder_api("benxi", password="Pw-2026-client")[1].phone for _ in range(3)]
    c = Client(HTTP_HOST="benxi.localhost")
    assert _page_send(c, "/accounts/login/code/", phones[0]).status_code == 302
    assert _page_send(c, "/login/reset/", phones[1]).status_code == 302
    assert (texts("benxi", phones[0]), texts("benxi", phones[1])) == (1, 1)
    # The address has had its three: a third phone gets nothing from either page, and the page says why.
    for path in ("/accounts/login/code/", "/login/reset/"):
        response = _page_send(Client(HTTP_HOST="benxi.localhost"), path, phones[2])
        assert response.status_code == 200, path
        html = response.content.decode()
        assert "当前网络获取验证码过于频繁，请一小时后再试" in html, path
        assert "已发送" not in html, path
    assert texts("benxi", phones[2]) == 0
    # Another address is not held back.
    other = Client(HTTP_HOST="benxi.localhost", REMOTE_ADDR="10.0.0.9")
    assert _page_send(other, "/accounts/login/code/", phones[2]).status_code == 302
    assert texts("benxi", phones[2]) == 1


def test_an_overall_ceiling_per_phone_holds_across_centres_and_purposes(settings: Any) -> None:
    settings.SMS_SEND_PHONE_ABUSE_HOURLY_CAP = 2
    phone = phone_make(710003)
    send("benxi", phone, "application")
    send("xinjiang", phone, "abandon")
    assert refused("xuancheng", phone, "refund_account").code == "sms_phone_cap"
    assert texts("xuancheng", phone) == 0


# --- an operator check serves its own action only ------------------------------------------------------


def _xuancheng_apply(bidder: Api, operator: Any, section: str, code: str) -> tuple[int, Any]:
    form = {"operator_name": operator.name, "operator_phone": operator.phone, "captcha": "1234", "sms_code": code}
    return bidder.post(
        "/api/v1/orders/", {"section": section, "deposit_kind": "bid", "issuer_kind": "insurer", "form": form}
    )


def test_an_operator_check_serves_its_own_action_and_never_another() -> None:
    centre = centre_api("xuancheng")
    for section in ("XC-SC-1", "XC-SC-2"):
        centre.put(f"/api/v1/centre/sections/{section}", section_payload(project_type="construction"))
    bidder, operator = bidder_api("xuancheng")
    code = sms_code(bidder, "xuancheng", operator.phone, "application")

    status, first = _xuancheng_apply(bidder, operator, "XC-SC-1", code)
    assert status == 201, first
    # A retry of the same application passes the check with the same code: what refuses this one
    # is the order that exists, not the code.
    status, error = _xuancheng_apply(bidder, operator, "XC-SC-1", code)
    assert (status, error["code"]) == (409, "order_exists")
    # Withdrawn, the same application goes again with the same code.
    status, _ = bidder.post(f"/api/v1/orders/{first['number']}/cancel", {"reason": "填错了"})
    assert status == 200
    status, again = _xuancheng_apply(bidder, operator, "XC-SC-1", code)
    assert status == 201, again
    # Another section is another action: the code does not serve it, and nothing is created.
    status, error = _xuancheng_apply(bidder, operator, "XC-SC-2", code)
    assert (status, error["code"], error["field"]) == (400, "sms_code_used_elsewhere", "sms_code")
    _, mine = bidder.get("/api/v1/orders/")
    assert [o for o in mine["results"] if o["section_code"] == "XC-SC-2"] == []
    # Nor another purpose (abandoning the order).
    from baohan.guarantees.errors import InvalidInput
    from baohan.identity.services.sms import sms_code_verify

    with tenant_context(tenant("xuancheng")), pytest.raises(InvalidInput) as exc:
        sms_code_verify(phone=operator.phone, purpose="abandon", code=code, subject=f"abandon:{again['number']}")
    connection.set_schema_to_public()
    assert exc.value.code == "sms_code_missing"
    # A fresh code for the other section works.
    status, other = _xuancheng_apply(
        bidder, operator, "XC-SC-2", sms_code(bidder, "xuancheng", operator.phone, "application")
    )
    assert status == 201, other


def test_a_wrong_code_gains_nothing_from_an_earlier_check() -> None:
    centre_api("xuancheng").put("/api/v1/centre/sections/XC-SC-3", section_payload(project_type="construction"))
    bidder, operator = bidder_api("xuancheng")
    code = sms_code(bidder, "xuancheng", operator.phone, "application")
    wrong = "000000" if code != "000000" else "111111"
    status, created = _xuancheng_apply(bidder, operator, "XC-SC-3", code)
    assert status == 201, created
    bidder.post(f"/api/v1/orders/{created['number']}/cancel", {"reason": "重填"})
    status, error = _xuancheng_apply(bidder, operator, "XC-SC-3", wrong)
    assert (status, error["code"]) == (400, "sms_code_missing")
    assert outbox_code("xuancheng", operator.phone) == code


def test_a_remembered_check_allows_three_wrong_tries_like_a_code() -> None:
    from baohan.guarantees.errors import InvalidInput
    from baohan.identity.services.sms import sms_code_verify

    phone = phone_make(710004)
    send("xinjiang", phone, "abandon")
    code = outbox_code("xinjiang", phone)
    wrong = "000000" if code != "000000" else "111111"
    with tenant_context(tenant("xinjiang")):
        sms_code_verify(phone=phone, purpose="abandon", code=code, subject="abandon:1")
        sms_code_verify(phone=phone, purpose="abandon", code=code, subject="abandon:1")  # a retry of the same
        for _ in range(3):
            with pytest.raises(InvalidInput):
                sms_code_verify(phone=phone, purpose="abandon", code=wrong, subject="abandon:1")
        with pytest.raises(InvalidInput) as exc:  # guessing spent it: the right code no longer serves
            sms_code_verify(phone=phone, purpose="abandon", code=code, subject="abandon:1")
        with pytest.raises(InvalidInput) as elsewhere:
            sms_code_verify(phone=phone, purpose="abandon", code=code, subject="abandon:2")
    connection.set_schema_to_public()
    assert exc.value.code == "sms_code_missing"
    assert elsewhere.value.code == "sms_code_used_elsewhere"
