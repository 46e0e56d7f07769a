"""Xuancheng's manual, walked in a real browser: the CA key login (the USB key's driver is the one
thing faked: a script that signs with the test enterprise's key), 立即申请, the platform (工保网)
with the insurer drawn at random, 我已阅读投保须知并同意授权 with the operator's checks, the system's
review, payment, then the project suspended before opening: 申请退保 and 完善退保账户信息."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

from django.conf import settings
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from baohan.identity.democa import ca_create, enterprise_certificate_issue
from baohan.identity.services.logins import ca_root_trust
from tests.api import phone_make, tenant, uscc_make
from tests.browser.conftest import PageFactory, assert_clean, screenshot
from tests.browser.walk import (
    accessible,
    fits_phone,
    issuer_for,
    landing_themed,
    operator_check,
    order_number,
    order_state,
    section_publish,
    tab_to,
)

REGION = "xuancheng"


def ca_driver() -> tuple[str, str]:
    """The CA's driver as the page sees it (``window.BaohanCaDriver``), holding a fresh enterprise
    certificate from a CA the centre trusts; and the enterprise's USCC."""
    n = 820000 + secrets.randbelow(89999)
    ca = ca_create(name=f"走查测试CA{n}")
    with tenant_context(tenant(REGION)):
        ca_root_trust(name=f"走查测试CA{n}", pem=ca.certificate_pem())
    uscc = uscc_make(n)
    issued = enterprise_certificate_issue(ca=ca, uscc=uscc, name=f"宣城走查建设有限公司{n}")
    template = Path(settings.THEMES_DIR / "base" / "static" / "identity" / "demo-ca-driver.js").read_text()
    script = template.replace("__CERTIFICATE__", json.dumps(issued.certificate_pem())).replace(
        "__KEY__", json.dumps(issued.private_key_pkcs8_pem())
    )
    return script, uscc


def test_xuancheng_walk(page_factory: PageFactory) -> None:
    section, centre = section_publish(REGION, project_type="construction", amount="1000000.00")
    script, uscc = ca_driver()
    phone = phone_make(830000 + secrets.randbelow(89999))
    page = page_factory(REGION)
    page.add_init_script(script)

    landing_themed(page, REGION)
    screenshot(page, REGION, "landing")
    page.goto("/login/")
    page.get_by_role("button", name="证书登录").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.locator("dd").filter(has_text=uscc)).to_be_visible()
    screenshot(page, REGION, "account")

    # 首页 → 我的投标保函 → 立即申请 → the section.
    page.get_by_role("link", name="我的投标保函").first.click()
    page.get_by_role("link", name="立即申请").first.click()
    page.get_by_label("标段名称或编号").fill(section)
    page.get_by_role("button", name="查询").click()
    page.locator(f'tr[data-section="{section}"]').get_by_role("link", name="立即申请").click()
    page.get_by_role("link", name="投标保证金").click()

    # 选择【工保网】: the insurer is drawn by the system; the operator proves the phone.
    expect(page.locator(".platform-choice")).to_contain_text("工保网")
    expect(page.locator(".issuer-table")).to_have_count(0)
    page.locator("#f-operator_name").fill("王经办")
    page.locator("#f-operator_phone").fill(phone)
    operator_check(page, REGION, "form.apply-form", phone)
    screenshot(page, REGION, "apply")
    page.get_by_role("button", name="下一步").click()
    expect(page.locator(".chosen-issuers")).to_contain_text("系统随机分配")
    # By keyboard alone: Tab to the consent, Space to tick it, Tab to 提交申请, Enter.
    tab_to(page, "input[name=consents]")
    page.keyboard.press("Space")
    expect(page.get_by_label("我已阅读投保须知并同意授权")).to_be_checked()
    screenshot(page, REGION, "confirm")
    accessible(page)
    fits_phone(page, REGION, "confirm")
    tab_to(page, "button[value=submit]")
    page.keyboard.press("Enter")
    # 系统审核通过 (automatic under the pack's limit): straight to payment.
    expect(page.locator(".state-badge")).not_to_have_text("等待审核")
    screenshot(page, REGION, "submitted")
    page.get_by_role("link", name="查看订单").click()
    number = order_number(page)
    assert order_state(REGION, number) == "awaiting_payment"
    expect(page.locator(".payer-rule")).to_contain_text("企业基本户")
    screenshot(page, REGION, "payment")

    with tenant_context(tenant(REGION)):
        from baohan.guarantees.models import Order

        issuer_code = Order.objects.get(number=number).issuer_code
    insurer = issuer_for(REGION, issuer_code)
    status, body = insurer.post(
        f"/api/v1/issuer/orders/{number}/payment", {"outcome": "confirmed", "amount": "1000.00"}
    )
    assert status == 200, body
    status, body = insurer.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert status == 200, body
    page.reload()
    expect(page.locator(".state-badge")).to_have_text("投保成功")
    # 开标前无需下载保单.
    expect(page.locator('[data-document="policy"]')).to_contain_text("开标后")
    expect(page.locator('#refund [data-trigger="section_event"]')).to_contain_text("当前不符合退保条件")
    screenshot(page, REGION, "issued")

    # The project is suspended before opening: 申请退保, then 完善退保账户信息.
    status, body = centre.post(f"/api/v1/centre/sections/{section}/events", {"kind": "suspended"})
    assert status in (200, 201), body
    page.reload()
    expect(page.locator('#refund [data-trigger="section_event"]')).to_contain_text("当前符合退保条件")
    page.get_by_label("退保原因类型").select_option("section_event")
    page.locator("#f-reason").fill("项目中止")
    page.get_by_role("button", name="申请退保").click()
    expect(page.locator(".refund-state")).to_have_text("待确认退费账户")
    page.locator("#f-account_name").fill("宣城走查建设有限公司")
    page.locator("#f-account_number").fill("12-34")  # not a bank account: refused beside its field
    page.locator("#f-bank_name").fill("中国建设银行宣城分行")
    page.locator("#f-operator_phone").fill(phone)
    page.get_by_role("button", name="确认").click()
    expect(page.locator("#e-account_number")).to_contain_text("银行账号应为6至32位数字")
    page.locator("#f-account_number").fill("6217000099998888")
    operator_check(page, "xuancheng", "#refund_account", phone)
    screenshot(page, REGION, "refund")
    accessible(page)
    fits_phone(page, REGION, "refund")
    page.get_by_role("button", name="确认").click()
    expect(page.locator(".refund-state")).to_have_text("退保审核中")
    refund_number = page.locator(".refund-number").inner_text().strip()

    status, body = insurer.post(f"/api/v1/issuer/refunds/{refund_number}/decision", {"approve": True})
    assert status == 200, body
    page.goto("/account/refunds/")
    expect(page.locator("table")).to_contain_text(refund_number)
    screenshot(page, REGION, "refunds")
    assert_clean(page, allow=[r"status of 400 \(Bad Request\)"])
