"""The order page and the user centre in a real browser, per centre: the payment card (支付须知 /
温馨提示, each rule once, 基本户信息 in view), the refund section with and without an allowed reason,
every missing invoice field named at once, 我的发票 and 发票详情 (3 steps, 查看收件信息), 支付完成 after a
voucher, and the user-centre menu at desktop width (a left menu) and at a phone's (a folding one)."""

from __future__ import annotations

import itertools
import re

from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from baohan.guarantees.models import Invoice
from tests.api import centre_api, png_bytes, tenant
from tests.browser.conftest import PageFactory, assert_clean, screenshot
from tests.browser.walk import accessible, fits_phone
from tests.money import Waiting, benxi_like_waiting, xinjiang_waiting

_events = itertools.count(1)
EMPTY_WORDS = re.compile(r"\b(None|null|undefined)\b|约 None")
DUPLICATE_IDS = """() => { const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
    return ids.filter((id, i) => ids.indexOf(id) !== i); }"""


def signed_in(page_factory: PageFactory, region: str, user: User, *, mobile: bool = False) -> Page:
    """A browser already signed in as ``user`` (the sign-in pages have walks of their own)."""
    client = Client(HTTP_HOST=f"{region}.localhost")
    with tenant_context(tenant(region)):
        client.force_login(user)
    page = page_factory(region, mobile=mobile)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": page_url(page)}])
    return page


def page_url(page: Page) -> str:
    page.goto("/")
    return page.url


def issued(waiting: Waiting) -> None:
    status, order = waiting.issuer.post(
        f"/api/v1/issuer/orders/{waiting.number}/payment",
        {"outcome": "confirmed", "amount": str(waiting.payable), "reference": f"BANK-{waiting.number}"},
    )
    assert status == 200, order
    status, order = waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})
    assert status == 200, order


def section_event(region: str, section: str, kind: str) -> None:
    status, body = centre_api(region).post(
        f"/api/v1/centre/sections/{section}/events", {"kind": kind, "event_id": f"orders-walk-{next(_events)}"}
    )
    assert status in (200, 201), body


def clean_text(page: Page) -> None:
    """No 「None」「null」「undefined」 on the page, and no element id twice."""
    body = page.locator("body").inner_text()
    found = EMPTY_WORDS.search(body)
    assert found is None, f"{page.url}: {found.group(0)!r}"
    assert page.evaluate(DUPLICATE_IDS) == [], page.url


def menu_checked(page: Page, region: str, name: str, current: str) -> None:
    """The user-centre menu: on the left at desktop width; folded behind 用户中心 on a phone, opening on a tap."""
    nav = page.locator(".uc-nav")
    expect(nav).to_be_visible()
    expect(nav.locator('[aria-current="page"]')).to_have_text(current)
    for item in ("我的主页", "我的订单", "我的服务", "我的发票", "退保记录"):
        expect(nav).to_contain_text(item)
    box = nav.bounding_box()
    main = page.locator(".uc-main").bounding_box()
    assert box is not None
    assert main is not None
    assert box["x"] + box["width"] <= main["x"], "the menu sits left of the page"
    expect(nav.locator(".uc-menu-toggle")).to_be_hidden()
    screenshot(page, region, name)
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        toggle = nav.locator(".uc-menu-toggle")
        expect(toggle).to_be_visible()
        expect(toggle).to_contain_text(current)
        expect(nav.get_by_role("link", name="我的发票")).to_be_hidden()
        fits_phone(page, region, name)
        toggle.click()
        expect(nav.get_by_role("link", name="我的发票")).to_be_visible()
        screenshot(page, region, f"{name}-phone-menu")
        toggle.click()
    finally:
        if size is not None:
            page.set_viewport_size(size)
    expect(nav.get_by_role("link", name="我的发票")).to_be_visible()  # back on the left at desktop width


def test_xinjiang_order_page_payment_refund_and_invoice(page_factory: PageFactory) -> None:
    region = "xinjiang"
    waiting = xinjiang_waiting()
    page = signed_in(page_factory, region, waiting.operator.user)

    page.goto(f"/orders/{waiting.number}/")
    payment = page.locator("#payment")
    expect(payment.locator(".pay-notes-title")).to_have_text(["支付须知", "温馨提示"])
    words = payment.inner_text()
    assert words.count("重复支付") + words.count("重复付款") == 1, words
    assert "政府采购" not in words
    expect(payment.locator(".payer-rule")).to_contain_text("企业基本户")
    expect(payment).to_contain_text("¥1,000.00")
    basic = page.locator("#basic-account")
    expect(basic).to_be_visible()
    expect(basic).to_contain_text("中国建设银行乌鲁木齐分行")
    clean_text(page)
    accessible(page)
    screenshot(page, region, "order-payment")
    fits_phone(page, region, "order-payment")

    # Issued before opening: giving up is a reason allowed now, so the form is there.
    issued(waiting)
    page.reload()
    refund = page.locator("#refund")
    expect(refund.get_by_role("button", name="申请退保")).to_be_enabled()
    expect(refund.locator("#f-trigger option")).to_have_count(1)
    screenshot(page, region, "order-refund-open")

    # After opening nothing allows a refund: the rules and why, no form and no button.
    section_event(region, waiting.section, "opened")
    page.reload()
    expect(refund.get_by_role("button", name="申请退保")).to_have_count(0)
    expect(refund.locator("form")).to_have_count(0)
    expect(refund.locator(".refund-closed")).to_contain_text("当前不能申请退保")
    expect(refund.locator(".refund-rule-list li")).to_have_count(4)

    # 申请发票: a paper 专用发票 with nothing but the title: every missing field named at once.
    invoice = page.locator("#invoice")
    expect(invoice).not_to_contain_text("None")
    # The types each form allows come from the pack: an electronic invoice is a 普通发票 only here.
    invoice.get_by_label("电子发票").check()
    expect(page.locator('#f-invoice-type option[value="vat_special"]')).to_be_disabled()
    expect(page.locator("#f-invoice-type")).to_have_value("vat_general")
    expect(page.locator("#h-invoice-type")).to_contain_text("电子发票仅支持增值税普通发票")
    invoice.get_by_label("纸质发票").check()
    expect(page.locator('#f-invoice-type option[value="vat_special"]')).to_be_enabled()
    page.locator("#f-invoice-type").select_option("vat_special")
    invoice.get_by_role("button", name="申请发票").click()
    for name in ("registered_address", "registered_phone", "bank_name", "bank_account", "recipient", "recipient_phone"):
        expect(page.locator(f"#e-invoice-{name}")).not_to_be_empty()
    clean_text(page)
    screenshot(page, region, "order-invoice-errors")
    page.locator("#f-invoice-registered_address").fill("乌鲁木齐市天山区1号")
    page.locator("#f-invoice-registered_phone").fill("0991-1234567")
    page.locator("#f-invoice-bank_name").fill("中国建设银行乌鲁木齐分行")
    page.locator("#f-invoice-bank_account").fill("6217000012345678")
    page.locator("#f-invoice-recipient").fill("王收件")
    page.locator("#f-invoice-recipient_phone").fill("13700000000")
    page.locator("#f-invoice-recipient_address").fill("乌鲁木齐市天山区")
    page.get_by_role("button", name="申请发票").click()
    expect(page.locator(".invoice-state")).to_have_text("已申请")
    screenshot(page, region, "order-invoiced")

    page.get_by_role("link", name="发票详情").click()
    expect(page.locator(".invoice-steps .progress-step.is-done")).to_have_count(2)
    expect(page.locator(".invoice-kind")).to_have_text("增值税专用发票（纸质发票）")
    clean_text(page)
    menu_checked(page, region, "invoice-detail", "我的发票")
    assert_clean(page, allow=[r"status of 400 \(Bad Request\)"])


def test_benxi_user_centre_invoices_and_payment_done(page_factory: PageFactory) -> None:
    region = "benxi"
    waiting = benxi_like_waiting(region)
    page = signed_in(page_factory, region, waiting.operator.user)

    # 上传支付凭证 → 等待审核; once the voucher is approved, 支付完成 (the manual's 「恭喜您已完成订单支付」).
    page.goto(f"/orders/{waiting.number}/")
    expect(page.locator("#payment .payer-rule")).to_contain_text("需使用与投保人企业一致的企业账户支付")
    clean_text(page)
    page.locator("#f-payment_voucher").set_input_files(
        {"name": "voucher.png", "mimeType": "image/png", "buffer": png_bytes((40, 40))}
    )
    page.get_by_role("button", name="提交凭证").click()
    expect(page.locator(".paid-title")).to_have_text("支付凭证已上传")
    expect(page.locator(".paid-card")).to_contain_text("支付凭证已上传，等待审核")
    expect(page.locator(".paid-card")).not_to_contain_text("恭喜您已完成订单支付")
    expect(page.locator(".state-badge")).to_have_text("缴纳审批中")
    screenshot(page, region, "paid-pending")
    fits_phone(page, region, "paid-pending")
    page.get_by_role("link", name="查看订单详情").click()
    expect(page).to_have_url(re.compile(rf"/orders/{waiting.number}/$"))

    # Issued, opened, a paper invoice requested and sent: 我的发票 → 发票详情 → 查看收件信息.
    status, vouchers = waiting.issuer.get("/api/v1/issuer/vouchers/")
    voucher = next(v for v in vouchers["results"] if v["order"] == waiting.number)
    status, body = waiting.issuer.post(f"/api/v1/issuer/vouchers/{voucher['id']}/decision", {"approve": True})
    assert status == 200, body
    page.goto(f"/orders/{waiting.number}/paid")
    expect(page.locator(".paid-title")).to_have_text("支付完成")
    expect(page.locator(".paid-card")).to_contain_text("恭喜您已完成订单支付")
    screenshot(page, region, "paid")
    fits_phone(page, region, "paid")
    status, body = waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})
    assert status == 200, body
    other = benxi_like_waiting(region)  # a second order of another enterprise: never listed here
    issued(other)

    page.goto("/account/invoices/")
    row = page.locator(f'tr[data-order="{waiting.number}"]')
    expect(row).to_contain_text("未开具")
    expect(page.locator(f'tr[data-order="{other.number}"]')).to_have_count(0)
    clean_text(page)
    accessible(page)
    menu_checked(page, region, "invoices", "我的发票")
    row.get_by_role("link", name="发票详情").click()
    expect(page.locator(".invoice-steps .progress-step")).to_have_text(
        [re.compile("订单生成"), re.compile("订单完成"), re.compile("发票开具")]
    )
    expect(page.locator("#invoice")).to_contain_text("开标后方可申请发票")
    screenshot(page, region, "invoice-before-opening")

    section_event(region, waiting.section, "opened")
    page.reload()
    page.locator("#invoice").get_by_role("link", name="申请发票").click()
    page.get_by_label("纸质发票").check()
    page.locator("#f-invoice-recipient").fill("王收件")
    page.locator("#f-invoice-recipient_phone").fill("13700000000")
    page.locator("#f-invoice-recipient_address").fill("本溪市平山区胜利路1号")
    page.get_by_role("button", name="申请发票").click()
    expect(page.locator(".invoice-state")).to_have_text("已申请")
    with tenant_context(tenant(region)):
        invoice_id = Invoice.objects.get(order__number=waiting.number).pk
    status, body = waiting.issuer.post(
        f"/api/v1/issuer/invoices/{invoice_id}",
        {"action": "issue", "invoice_number": "BX-0001", "carrier": "顺丰速运", "tracking_number": "SF1234567"},
    )
    assert status == 200, body

    page.goto("/account/invoices/")
    expect(page.locator(f'tr[data-order="{waiting.number}"]')).to_contain_text("已开票")
    page.get_by_label("发票状态").select_option("none")
    page.get_by_role("button", name="查询").click()
    expect(page.locator(f'tr[data-order="{waiting.number}"]')).to_have_count(0)
    page.goto(f"/account/invoices/{waiting.number}/")
    expect(page.locator(".invoice-steps .progress-step.is-done")).to_have_count(3)
    shipping = page.locator(".shipping-info")
    expect(shipping.locator(".tracking-number")).to_have_text("SF1234567")
    expect(shipping).to_contain_text("顺丰速运")
    clean_text(page)
    accessible(page)
    screenshot(page, region, "invoice-detail")
    fits_phone(page, region, "invoice-detail")

    for path, name, current in (
        ("/account/", "uc-account", "我的主页"),
        ("/orders/", "uc-orders", "我的投标保函"),
        ("/account/refunds/", "uc-refunds", "退保记录"),
        ("/account/after-sales/", "uc-after-sales", "订单售后"),
    ):
        page.goto(path)
        clean_text(page)
        menu_checked(page, region, name, current)
    assert_clean(page)


def test_xuancheng_payment_text_matches_the_page(page_factory: PageFactory) -> None:
    region = "xuancheng"
    from tests.api import bidder_api, issuer_api, section_payload, sms_code

    bidder, operator = bidder_api(region)
    section = f"XC-ORD-{next(_events)}"
    status, body = centre_api(region).put(
        f"/api/v1/centre/sections/{section}", section_payload(project_type="construction")
    )
    assert status == 201, body
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
    status, order = bidder.post(
        f"/api/v1/orders/{order['number']}/submit", {"consents": ["application_notice_authorisation"]}
    )
    assert order["state"] == "awaiting_payment", order
    number = order["number"]

    page = signed_in(page_factory, region, operator.user)
    page.goto(f"/orders/{number}/")
    payment = page.locator("#payment")
    expect(payment).not_to_contain_text("确定付款")
    expect(payment.locator(".payer-rule")).to_contain_text("通过企业基本户账户转账支付")
    expect(payment.locator("#pay-remark")).to_be_visible()  # the 订单附言 the text asks for is on the page
    assert payment.inner_text().count("企业基本户") == 1
    clean_text(page)
    screenshot(page, region, "order-payment")
    fits_phone(page, region, "order-payment")

    insurer = issuer_api(region, order["issuer_code"])
    insurer.post(f"/api/v1/issuer/orders/{number}/payment", {"outcome": "confirmed", "amount": order["payable_amount"]})
    status, body = insurer.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert status == 200, body
    page.reload()
    refund = page.locator("#refund")
    expect(refund.get_by_role("button", name="申请退保")).to_be_enabled()  # 开标前投保人放弃投保: allowed
    screenshot(page, region, "order-refund-open")
    section_event(region, section, "opened")
    page.reload()
    expect(refund.locator("form")).to_have_count(0)
    expect(refund.locator(".refund-closed")).to_contain_text("除上述3种情形外均不予退保")
    screenshot(page, region, "order-refund-closed")
    page.goto("/orders/")
    menu_checked(page, region, "uc-orders", "我的投标保函")
    expect(page.locator(".uc-nav")).not_to_contain_text("订单售后")  # the pack has no after-sales

    page.get_by_role("link", name="我的发票").click()
    row = page.locator(f'tr[data-order="{number}"]')
    expect(row).to_contain_text("未开具")
    clean_text(page)
    menu_checked(page, region, "invoices", "我的发票")
    row.get_by_role("link", name="发票详情").click()
    expect(page.locator(".invoice-steps .progress-step.is-done")).to_have_count(2)
    page.locator("#invoice").get_by_role("link", name="申请发票").click()
    expect(page).to_have_url(re.compile(rf"/orders/{number}/#invoice$"))
    expect(page.locator("#invoice")).not_to_contain_text("None")
    screenshot(page, region, "order-invoice")
    assert_clean(page)
