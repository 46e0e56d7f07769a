"""The issuer workbench in a real browser, on Benxi (several insurers asked, vouchers): an insurer's
staff member signs in with password and SMS code, finds the application in 待审核, reads it in the
pack's words, approves at the final rate, confirms the voucher in 待确认付款 and issues in 待出函; at a
desktop's width and a phone's. Screenshots as ``issuer-…`` in Benxi's folder."""

from __future__ import annotations

import re
import secrets

from django.contrib.auth.models import User
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from baohan.claims.models import Claim
from baohan.console.models import ConsoleRole
from baohan.guarantees.models import OrderEvent
from baohan.identity.fields import mask_phone
from baohan.issuerdesk.services import issuer_account_upsert
from tenants.models import Tenant
from tests.api import bidder_api, centre_api, png_bytes, sms_code
from tests.browser.conftest import LiveSite, PageFactory, assert_clean, screenshot
from tests.browser.walk import accessible, fits_phone, order_state, section_publish, sms_read, themed
from tests.money import line, statement_csv, xinjiang_waiting
from tests.test_scenario_benxi import benxi_form

REGION = "benxi"
PASSWORD = "Desk-2026-benxi"
CONSENTS = {"consents": ["broker_notice", "clauses_read", "broker_documents_read"]}


def account(issuer: str, name: str) -> str:
    phone = f"135{secrets.randbelow(10**8):08d}"
    with tenant_context(Tenant.objects.get(code=REGION)):
        issuer_account_upsert(issuer_code=issuer, phone=phone, password=PASSWORD, name=name)
    connection.set_schema_to_public()
    return phone


def application(issuers: list[str]) -> tuple[str, object]:
    """A Benxi application asking ``issuers``, submitted by a bidder through the API."""
    section, _centre = section_publish(REGION, project_type="housing", amount="10000.00")
    bidder, _operator = bidder_api(REGION)
    status, order = bidder.post(
        "/api/v1/orders/",
        {
            "section": section,
            "deposit_kind": "bid",
            "issuer_kind": "insurer",
            "issuer_codes": issuers,
            "form": benxi_form(),
        },
    )
    assert status == 201, order
    status, order = bidder.post(f"/api/v1/orders/{order['number']}/submit", CONSENTS)
    assert status == 200, order
    return order["number"], bidder


def sign_in(page: Page, phone: str, shots: str = "") -> None:
    page.goto("/issuer/")
    expect(page).to_have_url(re.compile(r"/issuer/login/"))
    themed(page, REGION)
    page.get_by_label("手机号码").fill(phone)
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="下一步：获取短信验证码").click()
    expect(page.locator("#id_password-error")).to_contain_text("手机号或密码错误")
    expect(page.get_by_label("手机号码")).to_have_value(phone)  # what was typed stays
    if shots:
        screenshot(page, REGION, f"{shots}-login-error")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="下一步：获取短信验证码").click()
    expect(page.locator("[data-sms-status]")).to_contain_text(mask_phone(phone))
    if shots:
        screenshot(page, REGION, f"{shots}-login-code")
        accessible(page)
    page.get_by_label("短信验证码").fill(sms_read(REGION, phone))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/issuer/$"))


def approve_confirm_issue(page: Page, number: str, bidder: object, prefix: str, *, several: bool) -> None:
    # 待审核: the application, newest deadline first, with its count.
    expect(page.locator('[data-work="review"]')).not_to_have_text("0")
    screenshot(page, REGION, f"{prefix}-home")
    page.locator(".issuer-nav").get_by_role("link", name=re.compile("待审核")).click()
    row = page.locator(f'tr[data-order="{number}"]')
    expect(row).to_be_visible()
    screenshot(page, REGION, f"{prefix}-review")
    row.get_by_role("link", name=number).click()

    # The application in Benxi's groups and words, the quote, and the decision.
    expect(page.locator(".application-card")).to_contain_text("被保人")
    expect(page.locator('[data-field="insured_name"]')).to_contain_text("本溪市某建设单位")
    expect(page.locator("[data-quote]")).to_contain_text("¥400.00")
    if several:
        expect(page.locator(".action-card")).to_contain_text("先审核通过的机构承保")
    else:
        expect(page.locator(".action-card .notice-inline")).to_have_count(0)
    page.get_by_label("最终费率（%）").fill("abc")
    page.get_by_label("审核意见").fill("资料齐全")
    page.get_by_role("button", name="审核通过").click()
    expect(page.locator("#id_rate-error")).to_contain_text("费率请填写数字")
    expect(page.get_by_label("审核意见")).to_have_value("资料齐全")
    screenshot(page, REGION, f"{prefix}-order-review")
    accessible(page)
    page.get_by_label("最终费率（%）").fill("3.5")
    expect(page.locator("#rate-premium")).to_have_text("按此费率，保费为 ¥350.00")
    page.get_by_role("button", name="审核通过").click()
    expect(page.locator(".message-success")).to_contain_text(f"订单 {number} 已审核通过")
    assert order_state(REGION, number) == "awaiting_payment"

    # The bidder uploads a voucher; 待确认付款 shows it beside the order's facts.
    status, upload = bidder.upload("/api/v1/uploads", "payment_voucher", "receipt.png", png_bytes((400, 300)))  # type: ignore[attr-defined]
    assert status == 201, upload
    status, _ = bidder.post(f"/api/v1/orders/{number}/voucher", {"upload": upload["id"]})  # type: ignore[attr-defined]
    assert status in (200, 201)
    page.goto("/issuer/vouchers/")
    card = page.locator(".voucher-card", has=page.locator(f"text={number}"))
    expect(card).to_contain_text("¥350.00")
    screenshot(page, REGION, f"{prefix}-vouchers")
    accessible(page)
    card.get_by_role("button", name="确认收款").click()
    expect(page.locator(".message-success")).to_contain_text("付款已确认")
    assert order_state(REGION, number) == "awaiting_issue"

    # 待出函: issue.
    page.locator(".issuer-nav").get_by_role("link", name=re.compile("待出函")).click()
    card = page.locator(f'[data-order="{number}"]')
    expect(card).to_be_visible()
    screenshot(page, REGION, f"{prefix}-issue")
    card.get_by_role("button", name="确认出函").click()
    expect(page.locator(".message-success")).to_contain_text(f"订单 {number} 已出函")
    assert order_state(REGION, number) == "issued"

    # The order's timeline names the person and the organisation.
    page.goto(f"/issuer/orders/{number}/")
    expect(page.locator('[data-transition="issue"]')).to_contain_text("（紫金财产保险股份有限公司）")
    screenshot(page, REGION, f"{prefix}-order-issued")


def test_issuer_desk_at_a_desktop(page_factory: PageFactory) -> None:
    number, bidder = application(["zijin", "yongan"])
    phone = account("zijin", "李核保")
    page = page_factory(REGION)
    sign_in(page, phone, shots="issuer")
    approve_confirm_issue(page, number, bidder, "issuer", several=True)
    fits_phone(page, REGION, "issuer-order-issued")
    with tenant_context(Tenant.objects.get(code=REGION)):
        labels = set(
            OrderEvent.objects.filter(order__number=number, actor_kind="issuer").values_list("actor_label", flat=True)
        )
    connection.set_schema_to_public()
    assert labels == {"李核保（紫金财产保险股份有限公司）"}
    assert_clean(page, allow=[r"/issuer/orders/[^/]+/decision: 400", r"/issuer/login/: 400"])


def test_issuer_desk_on_a_phone(page_factory: PageFactory) -> None:
    number, bidder = application(["zijin"])
    phone = account("zijin", "周核保")
    page = page_factory(REGION, mobile=True)
    sign_in(page, phone, shots="issuer-phone")
    approve_confirm_issue(page, number, bidder, "issuer-phone", several=False)
    for path in ("/issuer/", "/issuer/review/", "/issuer/vouchers/", f"/issuer/orders/{number}/"):
        page.goto(path)
        width = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert width <= 0, f"{path} is wider than a phone"
    assert_clean(page, allow=[r"/issuer/orders/[^/]+/decision: 400", r"/issuer/login/: 400"])


def test_issuer_desk_statement_and_refund_on_xinjiang(page_factory: PageFactory) -> None:
    """Xinjiang's insurer imports a statement (preview, then apply), assigns a line the remark did not
    name, issues, and reviews and pays out the bidder's refund."""
    region = "xinjiang"
    paying, other = xinjiang_waiting(), xinjiang_waiting()
    content = statement_csv([line(paying, remark=f"投标保费 附言{paying.remark_code}"), line(other, remark="投标保费")])
    phone = f"135{secrets.randbelow(10**8):08d}"
    with tenant_context(Tenant.objects.get(code=region)):
        issuer_account_upsert(issuer_code="guoren", phone=phone, password=PASSWORD, name="马核保")
    connection.set_schema_to_public()
    page = page_factory(region)
    page.goto("/issuer/login/")
    page.get_by_label("手机号码").fill(phone)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="下一步：获取短信验证码").click()
    page.get_by_label("短信验证码").fill(sms_read(region, phone))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/issuer/$"))

    # 待确认付款: no voucher on Xinjiang; the orders waiting for their transfer, each to confirm by hand.
    page.locator(".issuer-nav").get_by_role("link", name=re.compile("待确认付款")).click()
    expect(page.locator(f"#transfer-{paying.number}")).to_contain_text("¥1,000.00")
    screenshot(page, region, "issuer-transfers")
    accessible(page)

    # 对账单: preview first (nothing stored), then apply.
    page.locator(".issuer-nav").get_by_role("link", name=re.compile("对账单")).click()
    page.get_by_label("对账单文件").set_input_files({"name": "0601.csv", "mimeType": "text/csv", "buffer": content})
    page.get_by_role("button", name="预览").click()
    expect(page.locator('tr[data-outcome="pay"]')).to_contain_text(f"确认订单 {paying.number} 付款")
    expect(page.locator('tr[data-outcome="unmatched"]')).to_have_count(1)
    assert order_state(region, paying.number) == "awaiting_payment"
    screenshot(page, region, "issuer-statement-preview")
    accessible(page)
    fits_phone(page, region, "issuer-statement-preview")
    page.get_by_role("button", name="确认导入 2 笔").click()
    expect(page.locator(".message-success")).to_contain_text("新增 2 笔")
    assert order_state(region, paying.number) == "awaiting_issue"

    # The line without a remark code: assigned to its order by hand.
    card = page.locator(".review-card", has=page.locator("text=投标保费"))
    expect(card).to_have_count(1)
    screenshot(page, region, "issuer-statement-lines")
    card.get_by_label("指定订单编号").fill(other.number)
    card.get_by_role("button", name="指定订单").click()
    expect(page.locator(".message-success")).to_contain_text(f"已指定给订单 {other.number}")
    assert order_state(region, other.number) == "awaiting_issue"

    # 待出函 → issue; the bidder gives it up before opening; 退保 reviewed and paid out.
    page.goto("/issuer/issue/")
    page.locator(f'[data-order="{paying.number}"]').get_by_role("button", name="确认出函").click()
    expect(page.locator(".message-success")).to_contain_text(f"订单 {paying.number} 已出函")
    status, refund = paying.bidder.post(f"/api/v1/orders/{paying.number}/refund", {"reason": "放弃投标"})
    assert status == 201, refund
    enterprise = paying.operator.enterprise
    status, refund = paying.bidder.post(
        f"/api/v1/refunds/{refund['number']}/account",
        {
            "account_name": enterprise.name,
            "account_number": enterprise.basic_account_number,
            "bank_name": "中国建设银行乌鲁木齐分行",
            "operator_phone": paying.operator.phone,
            "captcha": "0532",
            "sms_code": sms_code(paying.bidder, region, paying.operator.phone, "refund_account"),
        },
    )
    assert (status, refund["state"]) == (200, "pending_review"), refund
    page.locator(".issuer-nav").get_by_role("link", name=re.compile("退保退款")).click()
    card = page.locator(f"#refund-{refund['number']}")
    screenshot(page, region, "issuer-refunds")
    card.get_by_role("button", name="同意退保").click()
    expect(page.locator(".message-success")).to_contain_text("待退款")
    payout = page.locator("#payouts .review-card").first
    payout.get_by_label("银行退款流水号").fill("")
    payout.get_by_role("button", name="登记已退款").click()
    expect(page.locator(".field-error")).to_contain_text("请填写退款流水号")
    screenshot(page, region, "issuer-payout-error")
    page.locator("#payouts .review-card").first.get_by_label("银行退款流水号").fill("BANK-REFUND-0001")
    page.locator("#payouts .review-card").first.get_by_role("button", name="登记已退款").click()
    expect(page.locator(".message-success")).to_contain_text("已登记为已退款")
    assert order_state(region, paying.number) == "surrendered"
    fits_phone(page, region, "issuer-refunds")
    assert_clean(page, allow=[r"/issuer/payouts/[^/]+/paid: 400"])


def _desk_sign_in(page: Page, region: str, issuer: str, name: str) -> None:
    phone = f"135{secrets.randbelow(10**8):08d}"
    with tenant_context(Tenant.objects.get(code=region)):
        issuer_account_upsert(issuer_code=issuer, phone=phone, password=PASSWORD, name=name)
    connection.set_schema_to_public()
    page.goto("/issuer/login/")
    page.get_by_label("手机号码").fill(phone)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="下一步：获取短信验证码").click()
    page.get_by_label("短信验证码").fill(sms_read(region, phone))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/issuer/$"))


def test_issuer_desk_refund_review_on_xuancheng(page_factory: PageFactory) -> None:
    """Xuancheng: the drawn insurer confirms the transfer by hand, issues, and reviews the refund."""
    region = "xuancheng"
    section, _centre = section_publish(region, project_type="construction")
    bidder, operator = bidder_api(region)
    form = {
        "operator_name": operator.name,
        "operator_phone": operator.phone,
        "captcha": "1234",
        "sms_code": sms_code(bidder, region, operator.phone, "application"),
    }
    status, order = bidder.post(
        "/api/v1/orders/", {"section": section, "deposit_kind": "bid", "issuer_kind": "insurer", "form": form}
    )
    assert status == 201, order
    number, issuer = order["number"], order["issuer_code"]
    status, order = bidder.post(f"/api/v1/orders/{number}/submit", {"consents": ["application_notice_authorisation"]})
    assert (status, order["state"]) == (200, "awaiting_payment"), order

    page = page_factory(region)
    _desk_sign_in(page, region, issuer, "钱核保")
    themed(page, region)
    page.locator(".issuer-nav").get_by_role("link", name=re.compile("待确认付款")).click()
    card = page.locator(f"#transfer-{number}")
    card.get_by_label("银行流水号").fill("XC-BANK-0001")
    card.get_by_role("button", name="确认到账").click()
    expect(page.locator(".message-success")).to_contain_text(f"订单 {number} 的付款已确认")
    page.locator(".issuer-nav").get_by_role("link", name=re.compile("待出函")).click()
    page.locator(f'[data-order="{number}"]').get_by_role("button", name="确认出函").click()
    expect(page.locator(".message-success")).to_contain_text(f"订单 {number} 已出函")

    status, refund = bidder.post(f"/api/v1/orders/{number}/refund", {"reason": "不再投标"})
    assert status == 201, refund
    status, refund = bidder.post(
        f"/api/v1/refunds/{refund['number']}/account",
        {
            "account_name": operator.enterprise.name,
            "account_number": operator.enterprise.basic_account_number,
            "bank_name": "中国建设银行宣城分行",
            "operator_phone": operator.phone,
            "captcha": "1234",
            "sms_code": sms_code(bidder, region, operator.phone, "refund_account"),
        },
    )
    assert (status, refund["state"]) == (200, "pending_review"), refund
    page.locator(".issuer-nav").get_by_role("link", name=re.compile("退保退款")).click()
    card = page.locator(f"#refund-{refund['number']}")
    expect(card).to_contain_text("不再投标")
    card.get_by_role("button", name="拒绝退保").click()
    expect(page.locator(f"#rr-{refund['number']}-error")).to_contain_text("请填写拒绝原因")
    screenshot(page, region, "issuer-refund-review")
    accessible(page)
    fits_phone(page, region, "issuer-refund-review")
    page.locator(f"#refund-{refund['number']}").get_by_role("button", name="同意退保").click()
    expect(page.locator(".message-success")).to_contain_text("待退款")
    page.goto(f"/issuer/orders/{number}/")
    expect(page.locator('[data-transition="refund_approve"]')).to_contain_text("钱核保（")
    screenshot(page, region, "issuer-order-refund")
    assert_clean(page, allow=[r"/issuer/refunds/[^/]+/decision: 400"])


def test_the_console_shows_issuer_staff_their_queues_on_each_centre(
    live_site: LiveSite, page_factory: PageFactory
) -> None:
    application(["zijin"])
    connection.set_schema_to_public()  # console users live in the public schema
    user = User.objects.create_user(username=f"desk-{secrets.token_hex(4)}", password=PASSWORD)
    for code in ("benxi", "paytest"):
        ConsoleRole.objects.create(
            user=user, kind="issuer_staff", tenant=Tenant.objects.get(code=code), issuer_code="zijin"
        )
    page = page_factory()
    page.goto(live_site.platform_url("/console/login/"))
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    overview = page.locator(".issuer-overview")
    expect(overview.locator('tr[data-tenant="benxi"] [data-count="review"]')).not_to_have_text("0")
    expect(overview.locator('tr[data-tenant="paytest"]')).to_be_visible()
    screenshot(page, "console", "issuer-overview")
    fits_phone(page, "console", "issuer-overview")
    overview.locator('tr[data-tenant="benxi"]').get_by_role("link", name="进入工作台").click()
    expect(page).to_have_url(re.compile(r"benxi\.localhost:\d+/issuer/login/"))
    assert_clean(page)


def test_issuer_desk_pays_a_claim_on_xinjiang(page_factory: PageFactory) -> None:
    """A centre files a claim on an issued guarantee after opening; the insurer's staff member accepts it
    and records the payment with its bank reference, at a phone's width. The claim is paid and the
    order's record names the person."""
    region = "xinjiang"
    waiting = xinjiang_waiting()
    status, order = waiting.issuer.post(
        f"/api/v1/issuer/orders/{waiting.number}/payment",
        {"outcome": "confirmed", "amount": str(waiting.payable), "reference": f"BANK-{waiting.number}"},
    )
    assert status == 200, order
    status, order = waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})
    assert (status, order["state"]) == (200, "issued"), order
    centre = centre_api(region)
    status, body = centre.post(f"/api/v1/centre/sections/{waiting.section}/events", {"kind": "opened"})
    assert status == 201, body
    status, claim = centre.post(
        f"/api/v1/centre/guarantees/{order['guarantee_number']}/claims",
        {
            "claimant_name": "乌鲁木齐市建设局",
            "claimant_contact": "0991-1234567",
            "reason": "中标后拒签合同",
            "amount": "1000.00",
        },
    )
    assert status == 201, claim
    number = claim["number"]

    phone = f"135{secrets.randbelow(10**8):08d}"
    with tenant_context(Tenant.objects.get(code=region)):
        issuer_account_upsert(issuer_code="guoren", phone=phone, password=PASSWORD, name="马理赔")
    connection.set_schema_to_public()
    page = page_factory(region, mobile=True)
    page.goto("/issuer/login/")
    page.get_by_label("手机号码").fill(phone)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="下一步：获取短信验证码").click()
    page.get_by_label("短信验证码").fill(sms_read(region, phone))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/issuer/$"))

    page.goto("/issuer/claims/")
    card = page.locator(f"#claim-{number}")
    expect(card).to_contain_text("¥1,000.00")
    expect(card).to_contain_text("乌鲁木齐市建设局")
    screenshot(page, region, "issuer-claims-phone")
    accessible(page)
    fits_phone(page, region, "issuer-claims-phone")
    card.get_by_role("button", name="受理").click()
    expect(page.locator(".message-success")).to_contain_text("已受理")
    card = page.locator(f"#claim-{number}")
    card.get_by_role("button", name="登记赔付").click()  # no reference: refused beside its field
    expect(card.locator(f"#cref-{number}-error")).to_contain_text("请填写赔付流水号")
    card.get_by_label("赔付流水号").fill("PAY-XJ-1")
    card.get_by_role("button", name="登记赔付").click()
    expect(page.locator(".message-success")).to_contain_text("已登记赔付")
    screenshot(page, region, "issuer-claim-paid-phone")
    assert_clean(page, allow=[r"/issuer/claims/.*: 400"])

    with tenant_context(Tenant.objects.get(code=region)):
        paid = Claim.objects.get(number=number)
        labels = set(
            OrderEvent.objects.filter(
                order__number=waiting.number, transition__in=["accept_claim", "pay_claim"]
            ).values_list("actor_label", flat=True)
        )
    connection.set_schema_to_public()
    assert paid.state == "paid"
    assert labels == {"马理赔（国任财产保险股份有限公司）"}
