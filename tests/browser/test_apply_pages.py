"""The application form and its confirm page on each centre, at a desktop's and a phone's width: the
pack's group headings in order, the issuer logos, no empty row and no 「None」, a refused submit
that keeps the uploaded file, and the way back from the confirm page to the same order's form.
Screenshots: tests/artifacts/screens/<centre>/apply-*.png."""

from __future__ import annotations

import secrets

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from baohan.guarantees.models import Operator
from tests.api import bidder_api, phone_make, png_bytes, tenant
from tests.browser.conftest import LiveSite, PageFactory, assert_clean, screenshot
from tests.browser.walk import accessible, fits_phone, operator_check, section_publish

GROUPS = {
    "benxi": ["电子保函", "项目标段信息", "保险信息", "投保人信息", "被保人信息", "经办人信息"],
    "xinjiang": ["标段信息", "投标人企业信息", "出函机构", "经办人信息"],
    "xuancheng": ["选择平台", "经办人信息"],
}
# The empty or missing values a page must never print, and a row with nothing in it.
EMPTY = """() => [...document.querySelectorAll('dd')]
    .filter((dd) => !dd.textContent.trim() || dd.textContent.trim() === '—')
    .map((dd) => (dd.previousElementSibling || {}).textContent || '?')"""


def signed_in(
    page_factory: PageFactory, live_site: LiveSite, region: str, *, mobile: bool = False
) -> tuple[Page, Operator]:
    """A new bidder, signed in (a session made on the server, handed to the browser as its cookie)."""
    n = 700000 + secrets.randbelow(99999)
    _, operator = bidder_api(region, n=n, phone=phone_make(n))
    client = Client(HTTP_HOST=f"{region}.localhost")
    with tenant_context(tenant(region)):
        client.force_login(operator.user)
    page = page_factory(region, mobile=mobile)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_site.url(region, "/")}]
    )
    return page, operator


def groups_shown(page: Page, region: str) -> None:
    titles = [t.split(" ")[0].strip() for t in page.locator(".group-title").all_inner_texts()]
    titles = [t.splitlines()[0].strip() for t in titles]
    assert titles == GROUPS[region], titles
    assert "None" not in page.content()


def confirm_clean(page: Page, region: str) -> None:
    expect(page.locator(".wizard-step.is-current")).to_contain_text("确认信息")
    groups_shown(page, region)
    assert page.evaluate(EMPTY) == []
    expect(page.locator("dt", has_text="验证码")).to_have_count(0)


def test_benxi_apply_and_confirm_pages(page_factory: PageFactory, live_site: LiveSite) -> None:
    region = "benxi"
    section, _ = section_publish(region, project_type="housing", amount="10000.00", location="平山区")
    page, _ = signed_in(page_factory, live_site, region)

    page.goto(f"/sections/{section}/")
    expect(page.locator("[data-deposit-card]")).to_have_count(4)
    expect(page.locator('[data-deposit-card="performance"]')).to_contain_text("¥10,000.00")
    expect(page.locator(".issuer-logos img").first).to_be_visible()
    screenshot(page, region, "section-cards")
    fits_phone(page, region, "section-cards")
    page.get_by_role("link", name="履约保证金").click()

    groups_shown(page, region)
    expect(page.locator('[data-group="issuer"] .issuer-logo').first).to_be_visible()
    page.get_by_label("保险保函").check()
    page.get_by_label("紫金财产保险股份有限公司").check()
    values = {
        "construction_period_days": "365",
        "project_address": "本溪市平山区",
        "start_date": "2026-12-01",
        "coverage_days": "1000",
        "applicant_address": "本溪市平山区胜利路1号",
        "qualification_level": "施工总承包二级",
        "registered_address": "本溪市平山区胜利路1号",
        "contact_phone": "13912345678",
        "contact_person": "李联系",
        "insured_name": "本溪市某建设单位",
    }
    for name, value in values.items():
        page.locator(f"#f-{name}").fill(value)
    screenshot(page, region, "apply-groups")
    accessible(page)
    fits_phone(page, region, "apply-groups")
    page.get_by_role("button", name="下一步").click()

    confirm_clean(page, region)
    insurance = page.locator('[data-group="insurance"]')
    for shown in ("¥10,000.00", "2026年12月1日", "4.00%", "¥400.00", "1000日历天"):
        expect(insurance).to_contain_text(shown)
    expect(page.get_by_role("button", name="提交订单")).to_be_visible()
    expect(page.locator(".consent-notice")).to_contain_text("由工保网保险经纪有限公司提供销售和协助理赔等保险服务")
    screenshot(page, region, "confirm-groups")
    accessible(page)
    fits_phone(page, region, "confirm-groups")
    number = page.locator(".order-number").inner_text()

    # 返回修改: the same order's form, filled in; changed and sent, back to the same order's confirm page.
    page.get_by_role("link", name="返回修改").click()
    edit_form_shown(page, region, number)
    expect(page.locator("#f-insured_name")).to_have_value("本溪市某建设单位")
    expect(page.get_by_label("紫金财产保险股份有限公司")).to_be_checked()
    page.locator("#f-insured_name").fill("本溪市另一建设单位")
    screenshot(page, region, "apply-edit")
    accessible(page)
    fits_phone(page, region, "apply-edit")
    page.get_by_role("button", name="下一步").click()
    back_on_confirm(page, region, number, "本溪市另一建设单位")
    assert_clean(page)


def edit_form_shown(page: Page, region: str, number: str) -> None:
    expect(page.locator("h1")).to_have_text("修改申请信息")
    expect(page.locator(".wizard-step.is-current")).to_contain_text("完善基本信息")
    expect(page.locator("[data-editing]")).to_contain_text(number)
    groups_shown(page, region)


def back_on_confirm(page: Page, region: str, number: str, changed: str) -> None:
    confirm_clean(page, region)
    expect(page.locator(".order-number")).to_have_text(number)
    expect(page.locator(".confirm-group").filter(has_text=changed)).to_have_count(1)
    page.goto("/orders/")
    expect(page.locator("[data-order]")).to_have_count(1)


def test_xinjiang_apply_keeps_the_permit_and_confirms_in_its_words(
    page_factory: PageFactory, live_site: LiveSite
) -> None:
    region = "xinjiang"
    section, _ = section_publish(region, project_type="construction")
    page, operator = signed_in(page_factory, live_site, region)

    page.goto(f"/sections/{section}/apply")
    groups_shown(page, region)
    expect(page.locator('[data-group="section"] .group-notice')).to_contain_text("项目类型关系到保险公司")
    expect(page.locator('[data-group="account"] .group-notice')).to_contain_text("基本户信息涉及到保函支付")
    page.get_by_label("国任财产保险股份有限公司").check()
    page.locator("#f-bid_validity_days").select_option("90")
    page.locator("#f-account_name").fill("新疆分组建设有限公司")
    page.locator("#f-bank_name").fill("中国建设银行乌鲁木齐分行")
    page.locator("#f-account_number").fill("6217000012345678")
    page.locator("#f-account_permit").set_input_files(
        {"name": "permit.png", "mimeType": "image/png", "buffer": png_bytes((60, 40))}
    )
    page.get_by_role("button", name="下一步").click()
    # Refused (no codes): every error at once; the permit is kept, not asked again.
    expect(page.locator("#e-captcha")).to_have_text("请填写验证码")
    expect(page.locator("#e-sms_code")).to_have_text("请填写短信验证码")
    expect(page.locator('[data-field="account_permit"] .upload-kept')).to_contain_text("permit.png")
    expect(page.locator("#f-account_name")).to_have_value("新疆分组建设有限公司")
    page.locator("#f-account_number").fill("6217000012345678")
    page.get_by_label("国任财产保险股份有限公司").check()
    operator_check(page, region, "form.apply-form", operator.phone)
    screenshot(page, region, "apply-groups")
    accessible(page)
    fits_phone(page, region, "apply-groups")
    page.get_by_role("button", name="下一步").click()

    confirm_clean(page, region)
    expect(page.locator('[data-group="account"]')).to_contain_text("permit.png")
    expect(page.locator('[data-group="section"]')).to_contain_text("建设工程")
    expect(page.locator(".confirm-total")).to_contain_text("应付金额总计")
    expect(page.get_by_role("link", name="上一步")).to_be_visible()
    expect(page.get_by_role("button", name="确认并支付")).to_be_visible()
    screenshot(page, region, "confirm-groups")
    accessible(page)
    fits_phone(page, region, "confirm-groups")
    number = page.locator(".order-number").inner_text()

    # 上一步: the same order's form with the permit kept and the issuer chosen; changed and sent again.
    page.get_by_role("link", name="上一步").click()
    edit_form_shown(page, region, number)
    expect(page.locator("#f-account_name")).to_have_value("新疆分组建设有限公司")
    expect(page.locator('[data-field="account_permit"] .upload-kept')).to_contain_text("permit.png")
    expect(page.get_by_label("国任财产保险股份有限公司")).to_be_checked()
    page.locator("#f-account_name").fill("新疆改名建设有限公司")
    page.locator("#f-account_number").fill("6217000012345678")
    operator_check(page, region, "form.apply-form", operator.phone)
    screenshot(page, region, "apply-edit")
    accessible(page)
    fits_phone(page, region, "apply-edit")
    page.get_by_role("button", name="下一步").click()
    back_on_confirm(page, region, number, "新疆改名建设有限公司")
    assert_clean(page)


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "phone"])
def test_xuancheng_apply_lists_the_panel_and_confirms_without_check_rows(
    page_factory: PageFactory, live_site: LiveSite, mobile: bool
) -> None:
    region = "xuancheng"
    section, _ = section_publish(region, project_type="construction")
    page, operator = signed_in(page_factory, live_site, region, mobile=mobile)
    suffix = "-phone" if mobile else ""

    page.goto(f"/sections/{section}/apply")
    groups_shown(page, region)
    expect(page.locator("[data-candidate]")).to_have_count(3)
    expect(page.locator(".issuer-panel")).to_contain_text("示例甲财产保险股份有限公司")
    page.locator("#f-operator_name").fill("王经办")
    operator_check(page, region, "form.apply-form", operator.phone)
    screenshot(page, region, f"apply-groups{suffix}")
    page.get_by_role("button", name="下一步").click()
    confirm_clean(page, region)
    expect(page.locator(".chosen-issuers")).to_contain_text("系统随机分配")
    screenshot(page, region, f"confirm-groups{suffix}")
    assert_clean(page)
