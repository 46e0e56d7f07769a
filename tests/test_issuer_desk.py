"""The issuer workbench (/issuer/): issuer staff accounts per centre and issuer, sign-in with password
and an SMS code, lockout, every page for the issuer's own staff only (nothing changes for anyone else),
each action through the services the issuer API uses (same events, the person recorded by name and
organisation), bad input shown beside its field with what was typed, and nothing of another issuer or
another centre in sight."""

from __future__ import annotations

import io
import itertools
import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from baohan.guarantees.errors import InvalidInput
from baohan.guarantees.models import Order, OrderEvent
from baohan.identity.models import AccountEvent, SmsMessage
from baohan.identity.services.staff import staff_account_upsert
from baohan.issuerdesk.services import issuer_account_upsert
from baohan.payments.models import PaymentVoucher
from tests.api import Api, bidder_api, centre_api, issuer_api, outbox_code, png_bytes, section_payload, tenant
from tests.money import Waiting, benxi_like_waiting, in_centre, xinjiang_waiting
from tests.test_scenario_benxi import benxi_form

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
_sections = itertools.count(1)
PASSWORD = "issuer-pass-2026"
BENXI_CONSENTS = {"consents": ["broker_notice", "clauses_read", "broker_documents_read"]}


def desk_phone() -> str:
    return f"136{next(_serial):08d}"


def desk_make(code: str, issuer: str, *, name: str = "李核保") -> str:
    phone = desk_phone()
    in_centre(code, issuer_account_upsert, issuer_code=issuer, phone=phone, password=PASSWORD, name=name)
    return phone


def desk_login(client: Client, code: str, phone: str, password: str = PASSWORD) -> Any:
    """Both steps of the sign-in: phone and password, then the code texted to the phone."""
    response = client.post("/issuer/login/", {"phone": phone, "password": password})
    assert response.status_code == 302, text(response)[:600]
    assert response["Location"].startswith("/issuer/login/code/")
    return client.post(response["Location"], {"code": outbox_code(code, phone)})


def desk_client(code: str, issuer: str, *, name: str = "李核保") -> Client:
    client = Client(HTTP_HOST=f"{code}.localhost")
    response = desk_login(client, code, desk_make(code, issuer, name=name))
    assert (response.status_code, response["Location"]) == (302, "/issuer/"), text(response)[:500]
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def flash(client: Client, response: Any) -> str:
    assert response.status_code == 302, text(response)[:800]
    return text(client.get(response["Location"]))


def field_error(page: str, field_id: str) -> str:
    assert f'aria-describedby="{field_id}-error"' in page
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert found, f"no error next to {field_id}"
    return found.group(1)


def benxi_submitted(issuers: list[str], centre: str = "benxi") -> tuple[str, Api]:
    """A Benxi-pack application submitted to ``issuers`` (several: multi-select), waiting for review."""
    api = centre_api(centre)
    bidder, _operator = bidder_api(centre)
    code = f"BX-DESK-{next(_sections)}"
    status, _ = api.put(f"/api/v1/centre/sections/{code}", section_payload(project_type="housing", amount="10000.00"))
    assert status == 201
    status, order = bidder.post(
        "/api/v1/orders/",
        {
            "section": code,
            "deposit_kind": "bid",
            "issuer_kind": "insurer",
            "issuer_codes": issuers,
            "form": benxi_form(),
        },
    )
    assert status == 201, order
    status, order = bidder.post(f"/api/v1/orders/{order['number']}/submit", BENXI_CONSENTS)
    assert (status, order["state"]) == (200, "underwriting"), order
    return order["number"], bidder


def voucher_submitted(waiting: Waiting) -> int:
    return voucher_of(waiting.centre, waiting.number, waiting.bidder)


def voucher_of(code: str, number: str, bidder: Api) -> int:
    status, upload = bidder.upload("/api/v1/uploads", "payment_voucher", "receipt.png", png_bytes())
    assert status == 201, upload
    status, order = bidder.post(f"/api/v1/orders/{number}/voucher", {"upload": upload["id"]})
    assert status in (200, 201), order

    def read() -> int:
        return PaymentVoucher.objects.get(order__number=number, state="submitted").pk

    return int(in_centre(code, read))


def snapshot(code: str, number: str) -> tuple[Any, ...]:
    """Everything an action could change on an order: its row and its events."""

    def read() -> tuple[Any, ...]:
        order = Order.objects.get(number=number)
        events = list(OrderEvent.objects.filter(order=order).values_list("transition", flat=True))
        vouchers = list(PaymentVoucher.objects.filter(order=order).values_list("state", flat=True))
        return (order.state, order.issuer_code, order.rate, order.premium, order.guarantee_number, events, vouchers)

    return tuple(in_centre(code, read))


def events_of(code: str, number: str) -> list[tuple[str, str, str, str, str]]:
    def read() -> list[tuple[str, str, str, str, str]]:
        return list(
            OrderEvent.objects.filter(order__number=number)
            .order_by("id")
            .values_list("transition", "from_state", "to_state", "actor_kind", "actor_id")
        )

    return list(in_centre(code, read))


def labels_of(code: str, number: str) -> list[str]:
    def read() -> list[str]:
        return list(
            OrderEvent.objects.filter(order__number=number).order_by("id").values_list("actor_label", flat=True)
        )

    return list(in_centre(code, read))


# --- accounts ------------------------------------------------------------------------------------------------


def test_the_command_makes_an_issuer_account_bound_to_one_issuer_of_the_pack() -> None:
    phone = desk_phone()
    out = io.StringIO()
    call_command(
        "issuer_user", "--centre", "benxi", "--issuer", "zijin", "--phone", phone, "--name", "李核保",
        "--random-password", stdout=out,
    )  # fmt: skip
    shown = out.getvalue()
    assert f"benxi: issuer account {phone[:3]}****{phone[-4:]} of zijin created (active)" in shown
    password = re.search(r"password \(shown once\): (\S+)", shown).group(1)  # type: ignore[union-attr]
    client = Client(HTTP_HOST="benxi.localhost")
    assert desk_login(client, "benxi", phone, password)["Location"] == "/issuer/"
    assert "李核保 · 紫金" in text(client.get("/issuer/"))

    # Updated: the name changes, the password stays without a terminal.
    out = io.StringIO()
    call_command(
        "issuer_user", "--centre", "benxi", "--issuer", "zijin", "--phone", phone, "--name", "李组长", stdout=out
    )
    assert "updated (active)" in out.getvalue()
    assert "password unchanged" in out.getvalue()

    def read() -> Any:
        user = User.objects.get(phone__phone=phone)
        return (
            user.first_name,
            user.issuer_member.issuer_code,
            AccountEvent.objects.filter(user=user, kind="issuer_login").count(),
        )

    assert in_centre("benxi", read) == ("李组长", "zijin", 1)

    # Refused: an issuer not on the centre's panel, another issuer for the same phone, a bidder's or staff phone.
    with pytest.raises(CommandError, match="本中心没有出函机构 guoren"):
        call_command(
            "issuer_user", "--centre", "benxi", "--issuer", "guoren", "--phone", desk_phone(), "--password", PASSWORD
        )
    with pytest.raises(CommandError, match="其他出函机构"):
        call_command("issuer_user", "--centre", "benxi", "--issuer", "yongan", "--phone", phone, "--password", PASSWORD)
    _bidder, operator = bidder_api("benxi")
    with pytest.raises(CommandError, match="投标人账户"):
        call_command(
            "issuer_user", "--centre", "benxi", "--issuer", "zijin", "--phone", operator.phone, "--password", PASSWORD
        )
    staff_phone = desk_phone()
    in_centre("benxi", staff_account_upsert, phone=staff_phone, password=PASSWORD, name="张审核")
    with pytest.raises(CommandError, match="中心工作人员"):
        call_command(
            "issuer_user", "--centre", "benxi", "--issuer", "zijin", "--phone", staff_phone, "--password", PASSWORD
        )
    with pytest.raises(InvalidInput) as weak:
        in_centre("benxi", issuer_account_upsert, issuer_code="zijin", phone=desk_phone(), password="short", name="x")
    assert weak.value.field == "password"
    # The account exists on Benxi only.
    assert in_centre("xinjiang", lambda: User.objects.filter(phone__phone=phone).exists()) is False


# --- signing in -------------------------------------------------------------------------------------------------


def test_sign_in_needs_the_password_then_the_code_texted_to_the_phone() -> None:
    phone = desk_make("benxi", "zijin")
    client = Client(HTTP_HOST="benxi.localhost")
    assert client.get("/issuer/")["Location"].startswith("/issuer/login/")
    # Nothing typed: each field named; a wrong password keeps the phone typed.
    page = text(client.post("/issuer/login/", {}))
    assert field_error(page, "id_phone") == "请填写手机号码"
    response = client.post("/issuer/login/", {"phone": phone, "password": "wrong-password"})
    page = text(response)
    assert response.status_code == 400
    assert "手机号或密码错误" in field_error(page, "id_password")
    assert f'value="{phone}"' in page
    # The password alone does not sign in: a code is texted, and the bench stays closed until it is typed.
    response = client.post("/issuer/login/", {"phone": phone, "password": PASSWORD})
    assert response["Location"] == "/issuer/login/code/"
    assert client.get("/issuer/")["Location"].startswith("/issuer/login/")
    page = text(client.get("/issuer/login/code/"))
    assert f"{phone[:3]}****{phone[-4:]}" in page
    response = client.post(
        "/issuer/login/code/", {"code": "000000" if outbox_code("benxi", phone) != "000000" else "111111"}
    )
    assert response.status_code == 400
    assert "短信验证码错误" in field_error(text(response), "id_code")
    response = client.post("/issuer/login/code/", {"code": outbox_code("benxi", phone)})
    assert (response.status_code, response["Location"]) == (302, "/issuer/")
    assert client.get("/issuer/").status_code == 200


def test_five_failures_lock_the_phone_like_every_other_sign_in() -> None:
    phone = desk_make("benxi", "zijin")
    client = Client(HTTP_HOST="benxi.localhost")
    for _ in range(5):
        client.post("/issuer/login/", {"phone": phone, "password": "wrong-password"})
    response = client.post("/issuer/login/", {"phone": phone, "password": PASSWORD})
    assert response.status_code in (400, 429)
    assert "锁定" in text(response)
    # Locked before any code was texted: the right password alone sends nothing.
    assert in_centre("benxi", lambda: SmsMessage.objects.filter(phone=phone).count()) == 0


def test_bidders_centre_staff_and_issuer_staff_each_stay_on_their_own_pages() -> None:
    bidder_phone = desk_phone()
    in_centre("benxi", staff_account_upsert, phone=bidder_phone, password=PASSWORD, name="张审核")
    client = Client(HTTP_HOST="benxi.localhost")
    # Centre staff cannot sign in to the bench (nor a bidder: see below), and no code is sent to them.
    response = client.post("/issuer/login/", {"phone": bidder_phone, "password": PASSWORD})
    assert response.status_code == 400
    assert "不是出函机构工作人员账户" in text(response)
    # A centre staff session gets 403 on the bench.
    staff = Client(HTTP_HOST="benxi.localhost")
    assert staff.post("/staff/login/", {"phone": bidder_phone, "password": PASSWORD}).status_code == 302
    assert staff.get("/issuer/").status_code == 403
    # A bidder's session too.
    _api, operator = bidder_api("benxi")
    bidder = Client(HTTP_HOST="benxi.localhost")
    with tenant_context(tenant("benxi")):
        bidder.force_login(operator.user, backend="django.contrib.auth.backends.ModelBackend")
    connection.set_schema_to_public()
    assert bidder.get("/issuer/").status_code == 403
    assert bidder.get("/issuer/review/").status_code == 403
    # Issuer staff are refused on the centre staff's pages, their sign-in, and the bidders' pages.
    desk = desk_client("benxi", "zijin")
    assert desk.get("/staff/").status_code == 403
    assert desk.get("/orders/").status_code == 403
    assert desk.get("/api/v1/orders/").status_code == 403
    phone = desk_make("benxi", "zijin")
    refused = Client(HTTP_HOST="benxi.localhost").post("/staff/login/", {"phone": phone, "password": PASSWORD})
    assert refused.status_code == 400


# --- what each issuer sees --------------------------------------------------------------------------------------


def test_an_issuer_sees_only_its_own_orders_and_those_it_was_asked_for() -> None:
    number, _bidder = benxi_submitted(["zijin", "yongan"])
    zijin, yongan = desk_client("benxi", "zijin"), desk_client("benxi", "yongan", name="王核保")
    guarantor = desk_client("benxi", "sample_guarantee", name="赵担保")
    assert number in text(zijin.get("/issuer/review/"))
    assert number in text(yongan.get("/issuer/review/"))
    assert number not in text(guarantor.get("/issuer/review/"))
    assert guarantor.get(f"/issuer/orders/{number}/").status_code == 404
    before = snapshot("benxi", number)
    assert guarantor.post(f"/issuer/orders/{number}/decision", {"decision": "approve", "rate": "4"}).status_code == 404
    assert snapshot("benxi", number) == before

    # 紫金 approves first; 永安 is told another issuer took it, and its queue empties.
    response = zijin.post(f"/issuer/orders/{number}/decision", {"decision": "approve", "rate": "3.5"})
    assert "已审核通过" in flash(zijin, response)
    assert number not in text(yongan.get("/issuer/review/"))
    response = yongan.get(f"/issuer/orders/{number}/")
    assert "已由其他出函机构承保" in flash(yongan, response)
    response = yongan.post(f"/issuer/orders/{number}/decision", {"decision": "approve", "rate": "4"})
    assert "已由其他出函机构承保" in flash(yongan, response)
    assert snapshot("benxi", number)[:4] == ("awaiting_payment", "zijin", Decimal("0.035000"), Decimal("350.00"))
    # Search by number, section, enterprise or remark code.
    order = in_centre("benxi", lambda: Order.objects.select_related("section", "enterprise").get(number=number))
    for query in (number, order.section.code, order.enterprise.name, order.remark_code):
        assert f'data-order="{number}"' in text(zijin.get("/issuer/orders/", {"q": query})), query
        assert f'data-order="{number}"' not in text(yongan.get("/issuer/orders/", {"q": query})), query


def test_a_session_of_one_centre_is_nothing_on_another_centres_host() -> None:
    number, _bidder = benxi_submitted(["zijin"])
    desk = desk_client("benxi", "zijin")
    cookie = desk.cookies["sessionid"].value
    other = Client(HTTP_HOST="paytest.localhost")  # a centre with the same pack and the same issuers
    other.cookies["sessionid"] = cookie
    assert other.get("/issuer/")["Location"].startswith("/issuer/login/")
    assert other.get(f"/issuer/orders/{number}/").status_code == 302
    # Benxi's account does not exist on the other centre: its sign-in refuses the same phone and password.
    phone = in_centre("benxi", lambda: User.objects.filter(issuer_member__isnull=False).latest("id").phone.phone)
    response = Client(HTTP_HOST="paytest.localhost").post("/issuer/login/", {"phone": phone, "password": PASSWORD})
    assert response.status_code == 400


# --- pages refuse anyone else and change nothing ---------------------------------------------------------------


def test_every_page_and_action_refuses_others_and_changes_nothing() -> None:
    waiting = benxi_like_waiting()
    voucher = voucher_submitted(waiting)
    number = waiting.number
    gets = [
        "/issuer/",
        "/issuer/review/",
        "/issuer/vouchers/",
        "/issuer/issue/",
        "/issuer/orders/",
        f"/issuer/orders/{number}/",
        "/issuer/refunds/",
        "/issuer/invoices/",
        "/issuer/after-sales/",
        "/issuer/claims/",
    ]
    posts = [
        (f"/issuer/orders/{number}/decision", {"decision": "approve", "rate": "4"}),
        (f"/issuer/orders/{number}/issue", {}),
        (f"/issuer/vouchers/{voucher}/decision", {"decision": "approve"}),
    ]
    staff_phone = desk_phone()
    in_centre("benxi", staff_account_upsert, phone=staff_phone, password=PASSWORD, name="张审核")
    staff = Client(HTTP_HOST="benxi.localhost")
    staff.post("/staff/login/", {"phone": staff_phone, "password": PASSWORD})
    bidder = Client(HTTP_HOST="benxi.localhost")
    with tenant_context(tenant("benxi")):
        bidder.force_login(waiting.operator.user, backend="django.contrib.auth.backends.ModelBackend")
    connection.set_schema_to_public()
    before = snapshot("benxi", number)
    for path in gets:
        assert Client(HTTP_HOST="benxi.localhost").get(path)["Location"].startswith("/issuer/login/"), path
        assert staff.get(path).status_code == 403, path
        assert bidder.get(path).status_code == 403, path
    for path, data in posts:
        assert Client(HTTP_HOST="benxi.localhost").post(path, data).status_code == 302, path
        assert staff.post(path, data).status_code == 403, path
        assert bidder.post(path, data).status_code == 403, path
    # Another issuer of the same centre: the order is not its own.
    yongan = desk_client("benxi", "yongan", name="王核保")
    assert yongan.get(f"/issuer/orders/{number}/").status_code == 404
    assert yongan.post(f"/issuer/orders/{number}/issue", {}).status_code == 404
    assert "已处理或不存在" in flash(
        yongan, yongan.post(f"/issuer/vouchers/{voucher}/decision", {"decision": "approve"})
    )
    assert str(number) not in text(yongan.get("/issuer/vouchers/"))
    assert snapshot("benxi", number) == before


# --- actions: the API's behaviour, the person recorded ------------------------------------------------------------


def test_approve_confirm_and_issue_write_what_the_api_writes_with_the_person_named() -> None:
    # The same path twice: once through the API, once on the bench.
    by_api, api_bidder = benxi_submitted(["zijin"])
    on_desk, desk_bidder = benxi_submitted(["zijin"])
    api = issuer_api("benxi", "zijin")
    desk = desk_client("benxi", "zijin", name="李核保")

    status, _ = api.post(f"/api/v1/issuer/orders/{by_api}/decision", {"approve": True, "rate": "0.035"})
    assert status == 200
    page = text(desk.get(f"/issuer/orders/{on_desk}/"))
    assert "核保审核" in page
    assert 'value="4"' in page
    assert desk.post(f"/issuer/orders/{on_desk}/decision", {"decision": "approve", "rate": "3.5"}).status_code == 302
    assert snapshot("benxi", by_api)[:4] == snapshot("benxi", on_desk)[:4]

    for number in (by_api, on_desk):
        bidder_of = in_centre("benxi", lambda n=number: Order.objects.select_related("enterprise").get(number=n))
        assert bidder_of.state == "awaiting_payment"
    # Vouchers: one decided through the API, one on the bench.
    api_voucher, desk_voucher = voucher_of("benxi", by_api, api_bidder), voucher_of("benxi", on_desk, desk_bidder)
    status, _ = api.post(f"/api/v1/issuer/vouchers/{api_voucher}/decision", {"approve": True})
    assert status == 200
    assert on_desk in text(desk.get("/issuer/vouchers/"))
    response = desk.post(f"/issuer/vouchers/{desk_voucher}/decision", {"decision": "approve"})
    assert "付款已确认" in flash(desk, response)
    assert on_desk in text(desk.get("/issuer/issue/"))
    status, _ = api.post(f"/api/v1/issuer/orders/{by_api}/issue", {})
    assert status == 200
    response = desk.post(f"/issuer/orders/{on_desk}/issue", {})
    assert "已出函" in flash(desk, response)

    api_events, desk_events = events_of("benxi", by_api), events_of("benxi", on_desk)
    assert [e[:4] for e in api_events] == [e[:4] for e in desk_events]
    assert [e[4] for e in desk_events if e[3] == "issuer"] == ["zijin"] * len(
        [e for e in desk_events if e[3] == "issuer"]
    )
    labels = [
        label
        for label, (_, _, _, kind, _) in zip(labels_of("benxi", on_desk), desk_events, strict=True)
        if kind == "issuer"
    ]
    assert labels
    assert set(labels) == {"李核保（紫金财产保险股份有限公司）"}
    voucher = in_centre("benxi", lambda: PaymentVoucher.objects.get(pk=desk_voucher))
    assert voucher.decided_by == "李核保（紫金财产保险股份有限公司）"
    a, b = snapshot("benxi", by_api), snapshot("benxi", on_desk)
    assert a[0] == b[0] == "issued"
    # The order's timeline on the bench names the person, never a credential.
    page = text(desk.get(f"/issuer/orders/{on_desk}/"))
    assert "李核保（紫金财产保险股份有限公司）" in page
    assert "出函成功" in page


def test_bad_input_is_shown_beside_its_field_and_changes_nothing() -> None:
    number, _ = benxi_submitted(["zijin"])
    desk = desk_client("benxi", "zijin")
    before = snapshot("benxi", number)
    for typed, message in (("abc", "费率请填写数字"), ("0", "费率应大于0且小于100"), ("", "请填写最终费率")):
        response = desk.post(
            f"/issuer/orders/{number}/decision", {"decision": "approve", "rate": typed, "reason": "备注"}
        )
        page = text(response)
        assert response.status_code == 400
        assert message in field_error(page, "id_rate")
        assert f'value="{typed}"' in page
        assert ">备注</textarea>" in page
    response = desk.post(f"/issuer/orders/{number}/decision", {"decision": "reject", "rate": "4", "reason": " "})
    assert response.status_code == 400
    assert "请填写拒绝原因" in field_error(text(response), "id_reason")
    assert snapshot("benxi", number) == before
    response = desk.post(f"/issuer/orders/{number}/decision", {"decision": "reject", "reason": "资质不符"})
    assert "已拒绝承保" in flash(desk, response)
    assert snapshot("benxi", number)[0] == "rejected"
    [(reason, label)] = in_centre(
        "benxi",
        lambda: list(
            OrderEvent.objects.filter(order__number=number, transition="reject").values_list("reason", "actor_label")
        ),
    )
    assert (reason, label) == ("资质不符", "李核保（紫金财产保险股份有限公司）")


def test_a_refused_voucher_needs_a_reason_and_the_application_files_are_the_issuers_only() -> None:
    waiting = benxi_like_waiting()
    voucher = voucher_submitted(waiting)
    desk = desk_client("benxi", "zijin")
    before = snapshot("benxi", waiting.number)
    response = desk.post(f"/issuer/vouchers/{voucher}/decision", {"decision": "reject", "reason": ""})
    assert response.status_code == 400
    assert "请填写驳回原因" in field_error(text(response), f"reason-{voucher}")
    assert snapshot("benxi", waiting.number) == before
    upload = in_centre("benxi", lambda: str(PaymentVoucher.objects.get(pk=voucher).upload_id))
    file = desk.get(f"/issuer/files/{upload}")
    assert (file.status_code, file["Content-Type"], file["Cache-Control"]) == (200, "image/png", "private, no-store")
    assert desk_client("benxi", "yongan").get(f"/issuer/files/{upload}").status_code == 404
    response = desk.post(f"/issuer/vouchers/{voucher}/decision", {"decision": "reject", "reason": "凭证模糊"})
    assert "已驳回" in flash(desk, response)
    assert snapshot("benxi", waiting.number)[0] == "payment_failed"


def test_a_transfer_is_confirmed_by_hand_as_the_api_confirms_it() -> None:
    by_api, on_desk = xinjiang_waiting(), xinjiang_waiting()
    desk = desk_client("xinjiang", "guoren", name="马核保")
    page = text(desk.get("/issuer/vouchers/"))
    assert f'id="transfer-{on_desk.number}"' in page
    assert f'value="{on_desk.payable}"' in page  # the amount owed, offered
    before = snapshot("xinjiang", on_desk.number)
    path = f"/issuer/orders/{on_desk.number}/payment"
    response = desk.post(path, {"outcome": "confirmed", "amount": "1.00", "reference": "BANK-9"})
    assert response.status_code == 400
    page = text(response)
    assert "与应付金额" in field_error(page, f"amount-{on_desk.number}")
    assert 'value="1.00"' in page
    assert 'value="BANK-9"' in page
    response = desk.post(path, {"outcome": "confirmed", "amount": "abc"})
    assert "到账金额请填写数字" in field_error(text(response), f"amount-{on_desk.number}")
    response = desk.post(path, {"outcome": "failed", "reason": ""})
    assert "请填写原因" in field_error(text(response), f"payreason-{on_desk.number}")
    assert snapshot("xinjiang", on_desk.number) == before

    status, _ = by_api.issuer.post(
        f"/api/v1/issuer/orders/{by_api.number}/payment",
        {"outcome": "confirmed", "amount": str(by_api.payable), "reference": "BANK-API"},
    )
    assert status == 200
    response = desk.post(path, {"outcome": "confirmed", "amount": str(on_desk.payable), "reference": "BANK-DESK"})
    assert "付款已确认" in flash(desk, response)
    assert [e[:4] for e in events_of("xinjiang", by_api.number)] == [
        e[:4] for e in events_of("xinjiang", on_desk.number)
    ]
    assert snapshot("xinjiang", on_desk.number)[0] == "awaiting_issue"
    assert labels_of("xinjiang", on_desk.number)[-1] == "马核保（国任财产保险股份有限公司）"
    assert f'id="transfer-{on_desk.number}"' not in text(desk.get("/issuer/vouchers/"))


def test_signing_in_again_within_the_minute_goes_on_with_the_code_already_sent() -> None:
    phone = desk_make("benxi", "zijin")
    client = Client(HTTP_HOST="benxi.localhost")
    first = client.post("/issuer/login/", {"phone": phone, "password": PASSWORD, "next": "/issuer/vouchers/"})
    assert first["Location"] == "/issuer/login/code/?next=%2Fissuer%2Fvouchers%2F"
    code = outbox_code("benxi", phone)
    again = client.post("/issuer/login/", {"phone": phone, "password": PASSWORD})
    assert again["Location"] == "/issuer/login/code/"
    assert outbox_code("benxi", phone) == code  # nothing new was sent
    response = client.post(first["Location"], {"code": code})
    assert (response.status_code, response["Location"]) == (302, "/issuer/vouchers/")
    # An off-site or non-bench target is not followed.
    other = Client(HTTP_HOST="benxi.localhost")
    phone = desk_make("benxi", "zijin")
    response = other.post("/issuer/login/", {"phone": phone, "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/issuer/login/code/"


def test_the_bidders_sign_in_sends_issuer_staff_to_the_workbench() -> None:
    phone = desk_make("benxi", "zijin")
    client = Client(HTTP_HOST="benxi.localhost")
    response = client.post("/accounts/login/", {"login": phone, "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/issuer/login/")
    assert client.get("/orders/").status_code == 302  # not signed in as anyone
    assert "工作人员账户请在工作台登录" in text(client.get("/issuer/login/"))
