"""The centre's staff pages (/staff/): staff accounts per centre, password login whatever the pack
offers bidders, every page for staff only, each action through its service (with its event), bad
input shown next to its field with nothing changed, and nothing of another centre in sight."""

from __future__ import annotations

import io
import itertools
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.claims.models import Claim
from baohan.guarantees.errors import InvalidInput
from baohan.guarantees.models import AfterSalesRequest, Order, OrderEvent
from baohan.guarantees.states import Actor
from baohan.identity.models import AccountEvent, EnterpriseVerification
from baohan.identity.services.accounts import password_reset_code_send
from baohan.identity.services.staff import staff_account_upsert
from baohan.payments.models import Payment, PaymentVoucher, StatementLine
from baohan.payments.services.intake import statement_lines_match, statement_lines_store
from tests.api import bidder_api, centre_api, png_bytes, section_payload, tenant
from tests.money import Waiting, benxi_like_waiting, in_centre, line, xinjiang_waiting
from tests.test_enterprise_verification import ID_NUMBER, account, form

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
PASSWORD = "staff-pass-2026"
OVERDUE = '<span class="badge badge-danger">已逾期</span>'
PAGES = [
    "/staff/",
    "/staff/sections/",
    "/staff/verifications/",
    "/staff/vouchers/",
    "/staff/bank-lines/",
    "/staff/after-sales/",
    "/staff/claims/",
]


def staff_phone() -> str:
    return f"137{next(_serial):08d}"


def staff_make(code: str, *, name: str = "审核员") -> str:
    phone = staff_phone()
    in_centre(code, staff_account_upsert, phone=phone, password=PASSWORD, name=name)
    return phone


def staff_client(code: str, *, name: str = "审核员") -> Client:
    """A staff member of ``code`` signed in through the staff login page."""
    client = Client(HTTP_HOST=f"{code}.localhost")
    response = client.post("/staff/login/", {"phone": staff_make(code, name=name), "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/staff/"), response.content.decode()[:500]
    return client


def session_client(code: str, user: User) -> Client:
    client = Client(HTTP_HOST=f"{code}.localhost")
    with tenant_context(tenant(code)):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    connection.set_schema_to_public()
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def flash(client: Client, response: Any) -> str:
    """The page a PRG redirect leads to, with its flash message."""
    assert response.status_code == 302, text(response)[:800]
    return text(client.get(response["Location"]))


def field_error(page: str, field_id: str) -> str:
    """The error shown next to the input ``field_id`` (and tied to it by aria-describedby)."""
    assert f'aria-describedby="{field_id}-error"' in page
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert found, f"no error next to {field_id}"
    return found.group(1)


def ids_apart(table: str, *, here: str, there: str) -> None:
    """Let ``here``'s next id in ``table`` be one ``there`` never used, so a cross-centre id is unambiguous."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, 'id'), pg_get_serial_sequence(%s, 'id')",
            [
                f"{here}.{table}",
                f"{there}.{table}",
            ],
        )
        mine, theirs = cursor.fetchone()
        cursor.execute(f"SELECT last_value FROM {theirs}")  # a sequence name from the catalog
        top = cursor.fetchone()[0]
        cursor.execute("SELECT setval(%s, GREATEST(nextval(%s), %s))", [mine, mine, top + 1000])


# --- accounts and signing in -------------------------------------------------------------------------


def test_the_command_creates_and_updates_a_staff_account() -> None:
    phone = staff_phone()
    out = io.StringIO()
    call_command(
        "staff_user", "--centre", "benxi", "--phone", phone, "--name", "张审核", "--random-password", stdout=out
    )
    shown = out.getvalue()
    assert f"benxi: staff account {phone[:3]}****{phone[-4:]} created (active)" in shown
    password = re.search(r"password \(shown once\): (\S+)", shown).group(1)  # type: ignore[union-attr]
    c = Client(HTTP_HOST="benxi.localhost")
    assert c.post("/staff/login/", {"phone": phone, "password": password}).status_code == 302

    # Updated by schema name; without a terminal and without a password, the password stays.
    out = io.StringIO()
    call_command("staff_user", "--schema", "benxi", "--phone", phone, "--name", "张组长", stdout=out)
    assert "updated (active)" in out.getvalue()
    assert "password unchanged" in out.getvalue()
    call_command("staff_user", "--centre", "benxi", "--phone", phone, "--password", "another-pass-1", stdout=out)
    c = Client(HTTP_HOST="benxi.localhost")
    assert c.post("/staff/login/", {"phone": phone, "password": password}).status_code == 400
    assert c.post("/staff/login/", {"phone": phone, "password": "another-pass-1"}).status_code == 302

    def read() -> Any:
        user = User.objects.get(phone__phone=phone)
        kinds = list(AccountEvent.objects.filter(user=user).values_list("kind", "actor_kind"))
        return user.is_staff, user.is_superuser, user.first_name, kinds

    assert in_centre("benxi", read) == (
        True,
        False,
        "张组长",
        [("staff_account_create", "system"), ("staff_login", "staff")]
        + [("staff_account_update", "system")] * 2
        + [("staff_login", "staff")],
    )
    # The account is only benxi's.
    assert not in_centre("xinjiang", User.objects.filter(phone__phone=phone).exists)

    # Deactivated: its session ends and it cannot sign in.
    call_command("staff_user", "--centre", "benxi", "--phone", phone, "--deactivate", stdout=out)
    assert c.get("/staff/").status_code == 302
    assert c.post("/staff/login/", {"phone": phone, "password": "another-pass-1"}).status_code == 400

    with pytest.raises(CommandError, match="no centre"):
        call_command("staff_user", "--centre", "nowhere", "--phone", phone, "--password", "x" * 12)
    with pytest.raises(CommandError, match="至少10个字符"):
        call_command("staff_user", "--centre", "benxi", "--phone", staff_phone(), "--password", "short")
    with pytest.raises(CommandError, match="手机号码应为11位"):
        call_command("staff_user", "--centre", "benxi", "--phone", "12345", "--password", "x" * 12)


def test_a_bidders_phone_cannot_become_a_staff_account() -> None:
    _, operator = bidder_api("benxi")
    with pytest.raises(CommandError, match="已被投标人账户使用"):
        call_command("staff_user", "--centre", "benxi", "--phone", operator.phone, "--password", "x" * 12)
    assert not in_centre("benxi", User.objects.filter(pk=operator.user_id, is_staff=True).exists)


def test_staff_sign_in_with_a_password_where_bidders_only_have_a_hand_off() -> None:
    # Xinjiang's pack offers bidders the trading platform's hand-off only: no password page.
    c = Client(HTTP_HOST="xinjiang.localhost")
    assert c.get("/accounts/login/").status_code == 404
    response = c.get("/staff/vouchers/")
    assert (response.status_code, response["Location"]) == (302, "/staff/login/?next=/staff/vouchers/")
    page = text(c.get("/staff/login/"))
    assert '<label for="id_phone">手机号码</label>' in page
    assert '<label for="id_password">密码</label>' in page

    phone = staff_make("xinjiang", name="新疆审核员")
    response = c.post("/staff/login/", {"phone": phone, "password": "wrong-password"})
    assert response.status_code == 400
    assert field_error(text(response), "id_password") == "手机号或密码错误，或该账户不是工作人员账户"
    response = c.post("/staff/login/", {"phone": "123", "password": "x"})
    assert field_error(text(response), "id_phone") == "手机号码应为11位中国大陆手机号"
    response = c.post("/staff/login/", {"phone": phone, "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/staff/"
    page = text(c.get("/staff/"))
    assert "新疆审核员" in page
    assert "工作台" in page
    events = in_centre(
        "xinjiang", lambda: list(AccountEvent.objects.filter(kind="staff_login").values_list("actor_label"))
    )
    assert events == [("新疆审核员",)]
    response = c.post("/staff/logout/")
    assert response["Location"] == "/staff/login/"
    assert c.get("/staff/").status_code == 302


def test_repeated_failures_lock_the_staff_login() -> None:
    phone = staff_make("benxi")
    c = Client(HTTP_HOST="benxi.localhost")
    codes = [c.post("/staff/login/", {"phone": phone, "password": "wrong-password"}).status_code for _ in range(5)]
    assert codes == [400, 400, 400, 400, 429]  # the fifth failure locks the phone (AXES_FAILURE_LIMIT)
    response = c.post("/staff/login/", {"phone": phone, "password": PASSWORD})
    assert response.status_code == 400
    assert "登录失败次数过多" in text(response)
    assert c.get("/staff/").status_code == 302


def test_a_bidder_cannot_sign_in_as_staff_nor_open_any_staff_page() -> None:
    _, operator = bidder_api("benxi")
    c = Client(HTTP_HOST="benxi.localhost")
    response = c.post("/staff/login/", {"phone": operator.phone, "password": "pw-123456"})
    assert response.status_code == 400
    assert "_auth_user_id" not in c.session

    # Signed in on the bidder's own login page, the bidder is refused every staff page and action.
    assert c.post("/accounts/login/", {"login": operator.phone, "password": "pw-123456"}).status_code == 302
    for path in [*PAGES, "/staff/sections/ANY/", "/staff/orders/ANY/"]:
        response = c.get(path)
        assert response.status_code == 403, path
        assert "该页面仅供交易中心工作人员使用" in text(response)
    waiting = benxi_like_waiting()
    voucher = _voucher_submitted(waiting)
    for path, data in [
        (f"/staff/vouchers/{voucher}/review", {"decision": "approve"}),
        ("/staff/bank-lines/1/assign", {"order": waiting.number}),
        ("/staff/after-sales/1/advance", {"action": "close"}),
        ("/staff/verifications/1/review", {"decision": "approve"}),
    ]:
        assert c.post(path, data).status_code == 403, path
    assert in_centre("benxi", lambda: PaymentVoucher.objects.get(pk=voucher).state) == "submitted"
    upload = in_centre("benxi", lambda: str(PaymentVoucher.objects.get(pk=voucher).upload_id))
    assert c.get(f"/staff/files/{upload}").status_code == 403
    assert Client(HTTP_HOST="benxi.localhost").get(f"/staff/files/{upload}").status_code == 302


# --- the pages ----------------------------------------------------------------------------------------


def test_every_page_renders_for_staff_with_what_happens_next_when_empty() -> None:
    c = staff_client("xuancheng")  # a CA-key centre: staff still sign in with a password
    expected = {
        "/staff/": "待办事项",
        "/staff/sections/": "暂无标段",
        "/staff/verifications/": "暂无待审核的企业认证",
        "/staff/vouchers/": "暂无待审核的凭证",
        "/staff/bank-lines/": "暂无待处理的银行流水",
        "/staff/after-sales/": "暂无未完结的售后申请",
        "/staff/claims/": "暂无索赔",
    }
    for path, words in expected.items():
        response = c.get(path)
        assert response.status_code == 200, path
        page = text(response)
        assert words in page, path
        assert "css/staff.css" in page
        assert 'aria-current="page"' in page
    assert c.get("/staff/sections/NO-SUCH/").status_code == 404
    assert c.get("/staff/orders/NO-SUCH/").status_code == 404
    assert c.get("/staff/files/00000000-0000-0000-0000-000000000000").status_code == 404


def test_the_dashboard_counts_orders_by_the_packs_labels_and_by_day_and_the_waiting_work() -> None:
    waiting = benxi_like_waiting()
    _voucher_submitted(waiting)
    bidder = account("benxi", 820001)
    _, licence = bidder.upload("/api/v1/uploads", "business_licence", "licence.png", png_bytes())
    bidder.post("/api/v1/enterprise-verification", {"form": form(licence["id"], 820001)})
    c = staff_client("benxi")
    page = text(c.get("/staff/"))
    work = dict(re.findall(r'data-work="(\w+)">(\d+)<', page))
    assert work == {"verifications": "1", "vouchers": "1", "bank_lines": "0", "after_sales": "0", "claims": "0"}
    rows = re.findall(r'data-state="(\w+)">\s*<th scope="row">([^<]+)</th><td class="num">(\d+)<', page)
    states = {state: (label, n) for state, label, n in rows}
    assert len(states) == 11
    assert states["payment_review"] == ("缴纳审批中", "1")  # Benxi's own word for it
    assert states["underwriting"] == ("待保险审核", "0")
    assert states["rejected"] == ("审核未通过", "0")  # the engine's word where the pack has none
    # Orders received per day, in the daily chart's table (the last 30 days by default).
    daily = re.search(r'data-table="daily">(.*?)</table>', page, flags=re.S)
    assert daily
    days = re.findall(r"<tr><th scope=\"row\">([^<]+)</th><td class=\"num\">(\d+)</td>", daily.group(1))
    today = timezone.localdate()
    assert len(days) == 30
    assert days[-1] == (f"{today.year}年{today.month}月{today.day}日", "1")
    assert [n for _, n in days[:-1]] == ["0"] * 29
    for path in PAGES[2:]:
        assert f'href="{path}"' in page


def test_sections_are_searched_and_show_their_orders() -> None:
    waiting = benxi_like_waiting()
    centre_api("benxi").put("/api/v1/centre/sections/BX-STAFF-OTHER", section_payload(project_type="housing"))
    c = staff_client("benxi")
    page = text(c.get("/staff/sections/", {"q": waiting.section}))
    assert f'href="/staff/sections/{waiting.section}/"' in page
    assert "BX-STAFF-OTHER" not in page
    assert "房屋建筑" in page  # the pack's project type label
    page = text(c.get("/staff/sections/", {"q": "no such thing"}))
    assert "没有找到匹配的标段" in page

    page = text(c.get(f"/staff/sections/{waiting.section}/"))
    assert f'data-order="{waiting.number}"' in page
    assert waiting.operator.enterprise.name in page
    assert '<td data-label="出函机构">紫金</td>' in page  # the issuer's name from the pack
    assert "待支付订单" in page  # Benxi's label for awaiting_payment
    page = text(c.get(f"/staff/orders/{waiting.number}/"))
    assert "审核通过" in page
    assert "提交订单" in page

    # The list costs the same number of queries however many sections it shows.
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert c.get("/staff/sections/", {"q": "BX-STAFF-Q"}).status_code == 200
        return len(captured)

    centre_api("benxi").put("/api/v1/centre/sections/BX-STAFF-Q1", section_payload(project_type="housing"))
    one = queries()
    for n in (2, 3, 4):
        centre_api("benxi").put(f"/api/v1/centre/sections/BX-STAFF-Q{n}", section_payload(project_type="highway"))
    assert queries() == one


# --- 企业信息认证 ----------------------------------------------------------------------------------------


def test_a_verification_is_reviewed_on_the_page_with_the_packs_labels_and_the_licence() -> None:
    bidder = account("benxi", 820002)
    licence_png = png_bytes((12, 12))
    _, licence = bidder.upload("/api/v1/uploads", "business_licence", "licence.png", licence_png)
    _, submitted = bidder.post("/api/v1/enterprise-verification", {"form": form(licence["id"], 820002)})
    vid = submitted["id"]
    c = staff_client("benxi", name="本溪审核员")
    page = text(c.get("/staff/verifications/"))
    assert "统一社会信用证代码" in page  # the pack's own label (sic)
    assert "民营企业" in page  # a choice shown by its label
    assert "*" * 14 + "123X" in page
    assert ID_NUMBER not in page
    assert f'href="/staff/files/{licence["id"]}"' in page
    assert '<label for="reason-' in page
    response = c.get(f"/staff/files/{licence['id']}")
    assert (response.status_code, response["Content-Type"], response.content) == (200, "image/png", licence_png)
    assert response["Cache-Control"] == "private, no-store"

    def state() -> tuple[str, int]:
        return EnterpriseVerification.objects.get(pk=vid).state, AccountEvent.objects.filter(
            kind="enterprise_verification_review"
        ).count()

    # Rejecting without a reason: the error sits next to the reason field, nothing changes.
    response = c.post(f"/staff/verifications/{vid}/review", {"decision": "reject", "reason": "  "})
    assert response.status_code == 400
    assert field_error(text(response), f"reason-{vid}") == "驳回时请填写审核意见"
    assert in_centre("benxi", state) == ("pending", 0)
    response = c.post(f"/staff/verifications/{vid}/review", {"decision": "maybe"})
    assert (response.status_code, "请选择审核结果" in text(response)) == (400, True)

    page = flash(c, c.post(f"/staff/verifications/{vid}/review", {"decision": "approve"}))
    assert "已通过「本溪测试建设有限公司820002」的企业认证" in page
    assert "暂无待审核的企业认证" in page

    def review() -> Any:
        event = AccountEvent.objects.get(kind="enterprise_verification_review")
        return EnterpriseVerification.objects.get(pk=vid).state, event.actor_kind, event.actor_label, event.to_state

    assert in_centre("benxi", review) == ("approved", "staff", "本溪审核员", "approved")
    # Decided once: a second decision says so and changes nothing.
    page = flash(c, c.post(f"/staff/verifications/{vid}/review", {"decision": "reject", "reason": "重复"}))
    assert "该申请已审核，不能重复审核" in page
    assert in_centre("benxi", state) == ("approved", 1)


# --- vouchers --------------------------------------------------------------------------------------------


def _voucher_submitted(waiting: Waiting) -> int:
    status, upload = waiting.bidder.upload("/api/v1/uploads", "payment_voucher", "receipt.png", png_bytes())
    assert status == 201, upload
    status, order = waiting.bidder.post(f"/api/v1/orders/{waiting.number}/voucher", {"upload": upload["id"]})
    assert status == 201, order
    return int(in_centre(waiting.centre, lambda: PaymentVoucher.objects.get(order__number=waiting.number).pk))


def test_a_voucher_is_approved_on_the_page_which_pays_the_order() -> None:
    waiting = benxi_like_waiting()
    vid = _voucher_submitted(waiting)
    c = staff_client("benxi", name="本溪财务")
    page = text(c.get("/staff/vouchers/"))
    upload = in_centre("benxi", lambda: str(PaymentVoucher.objects.get(pk=vid).upload_id))
    assert f'<img src="/staff/files/{upload}"' in page
    assert waiting.remark_code in page
    assert waiting.number in page
    assert c.get(f"/staff/files/{upload}").content == png_bytes()

    # A POST without the CSRF token is refused.
    strict = Client(HTTP_HOST="benxi.localhost", enforce_csrf_checks=True)
    strict.cookies = c.cookies
    assert strict.post(f"/staff/vouchers/{vid}/review", {"decision": "approve"}).status_code == 403

    response = c.post(f"/staff/vouchers/{vid}/review", {"decision": "reject", "reason": ""})
    assert response.status_code == 400
    assert field_error(text(response), f"reason-{vid}") == "请填写驳回原因"

    def state() -> Any:
        order = Order.objects.get(number=waiting.number)
        events = list(
            OrderEvent.objects.filter(order=order, actor_kind="staff").values_list("transition", "actor_label")
        )
        payments = list(Payment.objects.filter(order=order).values_list("channel", "outcome"))
        return PaymentVoucher.objects.get(pk=vid).state, order.state, events, payments

    assert in_centre("benxi", state) == ("submitted", "payment_review", [], [])
    page = flash(c, c.post(f"/staff/vouchers/{vid}/review", {"decision": "approve", "reason": ""}))
    assert f"订单 {waiting.number} 的支付凭证已审核通过" in page
    assert "暂无待审核的凭证" in page
    voucher_state, order_state, events, payments = in_centre("benxi", state)
    assert (voucher_state, order_state, payments) == ("approved", "awaiting_issue", [("voucher", "applied")])
    assert ("voucher_approve", "本溪财务") in events
    assert ("confirm_payment", "本溪财务") in events


def test_a_rejected_voucher_sends_the_order_back_to_payment() -> None:
    waiting = benxi_like_waiting()
    vid = _voucher_submitted(waiting)
    c = staff_client("benxi")
    page = flash(c, c.post(f"/staff/vouchers/{vid}/review", {"decision": "reject", "reason": "凭证模糊"}))
    assert "的支付凭证已驳回" in page

    def state() -> Any:
        event = OrderEvent.objects.get(transition="voucher_reject", order__number=waiting.number)
        return PaymentVoucher.objects.get(pk=vid).state, Order.objects.get(number=waiting.number).state, event.reason

    assert in_centre("benxi", state) == ("rejected", "payment_failed", "凭证模糊")


# --- bank lines -----------------------------------------------------------------------------------------

XJ_ACCOUNT = "3000000000000000001"  # 国任's receiving account in Xinjiang's pack


def _unmatched(waiting: Waiting) -> dict[Decimal, int]:
    """Two lines nobody can match: the premium without its remark code, and a stray credit."""
    lost = line(waiting, remark="保证金保费")
    stray = line(waiting, amount="12.00", remark="退款", payer_name="某公司", payer_account="6200000000002222")

    def run() -> dict[Decimal, int]:
        statement_lines_store(
            issuer_code="guoren", account_number=XJ_ACCOUNT, lines=[lost, stray], source="command", actor=Actor.system()
        )
        statement_lines_match()
        return {row.amount: row.pk for row in StatementLine.objects.filter(status="unmatched")}

    return dict(in_centre(waiting.centre, run))


def test_unmatched_bank_lines_are_assigned_or_dismissed_on_the_page() -> None:
    waiting = xinjiang_waiting()
    ids = _unmatched(waiting)
    lost, stray = ids[waiting.payable], ids[Decimal("12.00")]
    c = staff_client("xinjiang", name="新疆财务")
    page = text(c.get("/staff/bank-lines/"))
    assert f'id="line-{lost}"' in page
    assert f'id="line-{stray}"' in page
    assert "****2222" in page
    assert "6200000000002222" not in page
    assert f'<label for="order-{lost}">指定订单编号</label>' in page

    def statuses() -> dict[int, str]:
        return dict(StatementLine.objects.filter(pk__in=[lost, stray]).values_list("id", "status"))

    response = c.post(f"/staff/bank-lines/{lost}/assign", {"order": "NO-SUCH"})
    assert response.status_code == 400
    assert field_error(text(response), f"order-{lost}") == "订单 NO-SUCH 不存在"
    assert 'value="NO-SUCH"' in text(response)  # what was typed stays
    response = c.post(f"/staff/bank-lines/{lost}/assign", {"order": " "})
    assert field_error(text(response), f"order-{lost}") == "请填写订单编号"
    response = c.post(f"/staff/bank-lines/{stray}/dismiss", {"reason": ""})
    assert field_error(text(response), f"dismiss-{stray}") == "请填写忽略原因"
    assert in_centre("xinjiang", statuses) == {lost: "unmatched", stray: "unmatched"}
    assert waiting.order().state == "awaiting_payment"

    page = flash(c, c.post(f"/staff/bank-lines/{stray}/dismiss", {"reason": "非保费来款"}))
    assert "该笔流水已忽略" in page
    page = flash(c, c.post(f"/staff/bank-lines/{lost}/assign", {"order": waiting.number}))
    assert f"该笔流水已指定给订单 {waiting.number}" in page
    assert "暂无待处理的银行流水" in page
    assert in_centre("xinjiang", statuses) == {lost: "matched", stray: "dismissed"}
    assert waiting.order().state == "awaiting_issue"
    event = in_centre(
        "xinjiang",
        lambda: (
            OrderEvent.objects.filter(order__number=waiting.number, transition="confirm_payment")
            .values_list("actor_kind", "actor_label")
            .get()
        ),
    )
    assert event == ("staff", "新疆财务")
    page = flash(c, c.post(f"/staff/bank-lines/{lost}/assign", {"order": waiting.number}))
    assert "不能再指定订单" in page


# --- after-sales and claims ---------------------------------------------------------------------------------


def test_after_sales_are_advanced_on_the_page() -> None:
    waiting = xinjiang_waiting()
    status, item = waiting.bidder.post(
        f"/api/v1/orders/{waiting.number}/after-sales", {"category": "paid_not_issued", "description": "已转账未出函"}
    )
    assert status == 201, item
    rid = item["id"]
    c = staff_client("xinjiang", name="客服小王")
    page = text(c.get("/staff/after-sales/"))
    assert "已支付，未出函" in page
    assert "已转账未出函" in page

    def state() -> Any:
        request = AfterSalesRequest.objects.get(pk=rid)
        moves = list(
            OrderEvent.objects.filter(subject="after_sales", subject_id=rid, actor_kind="staff").values_list(
                "transition", "actor_label"
            )
        )
        return request.state, request.resolution, moves

    response = c.post(f"/staff/after-sales/{rid}/advance", {"action": "resolve", "resolution": ""})
    assert response.status_code == 400
    assert field_error(text(response), f"resolution-{rid}") == "请填写处理结果"
    assert in_centre("xinjiang", state) == ("open", "", [])

    page = flash(c, c.post(f"/staff/after-sales/{rid}/advance", {"action": "start"}))
    assert "售后申请已开始处理" in page
    assert "处理中" in page
    page = flash(c, c.post(f"/staff/after-sales/{rid}/advance", {"action": "resolve", "resolution": "已联系出函"}))
    assert "售后申请已标记为已解决" in page
    assert "暂无未完结的售后申请" in page
    assert in_centre("xinjiang", state) == (
        "resolved",
        "已联系出函",
        [("after_sales_start", "客服小王"), ("after_sales_resolve", "客服小王")],
    )


def test_claims_are_listed_with_their_state_and_an_overdue_marker(django_capture_on_commit_callbacks: Any) -> None:
    from tests.test_documents import _issue, _opened

    waiting = xinjiang_waiting()
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    _opened("xinjiang", waiting.section)
    response = centre_api("xinjiang").client.post(
        f"/api/v1/centre/guarantees/{guarantee}/claims",
        {
            "claimant_name": "乌鲁木齐市建设局",
            "claimant_contact": "0991-1234567",
            "reason": "拒签合同",
            "amount": "500",
        },
    )
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    c = staff_client("xinjiang")
    page = text(c.get("/staff/claims/"))
    assert f'data-claim="{number}"' in page
    assert f'href="/staff/orders/{waiting.number}/"' in page
    assert "已提交，待出函机构受理" in page
    assert OVERDUE not in page
    # Past the pack's limit to decide: marked overdue.
    in_centre(
        "xinjiang", Claim.objects.filter(number=number).update, decide_by=timezone.localdate() - timedelta(days=1)
    )
    page = text(c.get("/staff/claims/", {"state": "filed"}))
    assert OVERDUE in page
    assert 'class="is-overdue"' in page
    assert "没有该状态的索赔" in text(c.get("/staff/claims/", {"state": "paid"}))
    page = text(c.get(f"/staff/orders/{waiting.number}/"))
    assert "提交索赔" in page
    assert "出函成功" in page


# --- isolation between centres ---------------------------------------------------------------------------


def test_staff_see_and_touch_nothing_of_another_centre() -> None:
    # Another centre's work: a Xinjiang section, order and unmatched line; a paytest voucher.
    ids_apart("payments_statementline", here="xinjiang", there="benxi")
    ids_apart("payments_paymentvoucher", here="paytest", there="benxi")
    waiting = xinjiang_waiting()
    lost = _unmatched(waiting)[waiting.payable]
    paying = benxi_like_waiting("paytest")
    voucher = _voucher_submitted(paying)
    upload = in_centre("paytest", lambda: str(PaymentVoucher.objects.get(pk=voucher).upload_id))
    assert not in_centre("benxi", StatementLine.objects.filter(pk=lost).exists)
    assert not in_centre("benxi", PaymentVoucher.objects.filter(pk=voucher).exists)

    c = staff_client("benxi")
    assert "暂无待处理的银行流水" in text(c.get("/staff/bank-lines/"))
    assert "暂无待审核的凭证" in text(c.get("/staff/vouchers/"))
    page = text(c.get("/staff/sections/"))
    assert waiting.section not in page
    assert paying.section not in page
    assert c.get(f"/staff/sections/{waiting.section}/").status_code == 404
    assert c.get(f"/staff/orders/{waiting.number}/").status_code == 404
    assert c.get(f"/staff/files/{upload}").status_code == 404
    # Acting on another centre's ids: not found, and nothing changes there.
    assert c.post(f"/staff/bank-lines/{lost}/assign", {"order": waiting.number}).status_code == 404
    assert c.post(f"/staff/bank-lines/{lost}/dismiss", {"reason": "x"}).status_code == 404
    assert c.post(f"/staff/vouchers/{voucher}/review", {"decision": "approve"}).status_code == 404
    assert in_centre("xinjiang", lambda: StatementLine.objects.get(pk=lost).status) == "unmatched"
    assert in_centre("paytest", lambda: PaymentVoucher.objects.get(pk=voucher).state) == "submitted"

    # Benxi's session means nothing on Xinjiang's host (sessions live in each centre's schema).
    for path in ("/staff/", "/staff/bank-lines/"):
        response = c.get(path, HTTP_HOST="xinjiang.localhost")
        assert (response.status_code, response["Location"]) == (302, f"/staff/login/?next={path}"), path
    response = c.post(f"/staff/bank-lines/{lost}/dismiss", {"reason": "x"}, HTTP_HOST="xinjiang.localhost")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")
    assert in_centre("xinjiang", lambda: StatementLine.objects.get(pk=lost).status) == "unmatched"
    # A Benxi staff account does not exist on Xinjiang's host; Xinjiang's own staff see the line.
    benxi_phone = staff_make("benxi")
    response = c.post("/staff/login/", {"phone": benxi_phone, "password": PASSWORD}, HTTP_HOST="xinjiang.localhost")
    assert response.status_code == 400
    xj = staff_client("xinjiang")
    assert f'id="line-{lost}"' in text(xj.get("/staff/bank-lines/"))


def test_the_bidders_sign_in_and_sms_reset_refuse_staff_accounts() -> None:
    phone = staff_make("benxi")
    bidders = Client(HTTP_HOST="benxi.localhost")
    response = bidders.post("/accounts/login/", {"login": phone, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/"
    assert bidders.get("/staff/").status_code == 302  # not signed in by the bidders' page
    with pytest.raises(InvalidInput) as refused:
        in_centre("benxi", password_reset_code_send, phone=phone, client="127.0.0.1")
    assert refused.value.message == "工作人员账户请联系管理员重置密码"
    # The staff's own page still lets them in.
    staff = Client(HTTP_HOST="benxi.localhost")
    assert staff.post("/staff/login/", {"phone": phone, "password": PASSWORD}).status_code == 302
    assert staff.get("/staff/").status_code == 200
