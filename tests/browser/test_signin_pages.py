"""The sign-in pages in a real browser, at a desktop's and a phone's width: Benxi's 新用户注册 (picture check,
获取验证码 with its countdown, the SMS code, 用户服务协议), 密码登录, 验证码登录 and 忘记密码; Xinjiang's
/login/ with its way back to the trading platform. Each page is ours (never allauth's default markup), Chinese,
readable, and greets the bidder by the enterprise's name."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import Page, expect

from tests.api import bidder_api, phone_make
from tests.browser.conftest import PageFactory, assert_clean, screenshot
from tests.browser.walk import accessible, captcha_read, fits_phone, sms_read, themed

REGION = "benxi"
ALLAUTH_DEFAULTS = ("Sign In", "Sign Up", "Request Code", "发送登录代码给我", "请求码", "Send me a sign-in code")


def ours(page: Page, region: str, name: str) -> None:
    """The page wears the centre's theme, in the sign-in card, without allauth's words; screenshots at both widths."""
    themed(page, region)
    expect(page.locator(".auth-card")).to_be_visible()
    text = page.locator("body").inner_text()
    for words in ALLAUTH_DEFAULTS:
        assert words not in text, f"{page.url}: {words}"
    accessible(page)
    screenshot(page, region, name)
    fits_phone(page, region, name)


def test_benxi_signup_and_every_way_in(page_factory: PageFactory) -> None:
    page = page_factory(REGION)
    phone = phone_make(730000 + secrets.randbelow(9000))

    # 新用户注册: phone, picture check, 获取验证码 (then a countdown), the code, a password, the terms.
    page.goto("/login/")
    page.get_by_role("link", name="新用户注册").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    expect(page.get_by_role("heading", name="新用户注册")).to_be_visible()
    ours(page, REGION, "signup")
    page.get_by_label("手机号码").fill(phone)
    page.get_by_label("图形验证码").fill(captcha_read(page, REGION))
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("[data-sms-status]")).to_contain_text("验证码已发送至")
    expect(page.locator("[data-signup-code]")).to_be_disabled()
    expect(page.locator("[data-signup-code]")).to_contain_text("秒后重新获取")
    page.get_by_label("短信验证码").fill(sms_read(REGION, phone))
    page.get_by_label("设置密码").fill("Walk-2026-signup")
    page.get_by_label("确认密码").fill("Walk-2026-signup")
    page.get_by_label("我已阅读并同意《用户服务协议》").check()
    screenshot(page, REGION, "signup-filled")
    page.get_by_role("button", name="立即注册").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.locator(".topbar-welcome")).to_contain_text("欢迎您")
    expect(page.locator(".topbar-logout button")).to_have_text("退出")
    page.locator(".topbar-logout button").click()
    expect(page.locator(".messages")).to_contain_text("您已安全退出登录")
    assert_clean(page)


def test_benxi_password_code_and_reset(page_factory: PageFactory) -> None:
    _, operator = bidder_api(REGION, password="Walk-2026-pages")
    enterprise = operator.enterprise.name
    for mobile in (False, True):
        page = page_factory(REGION, mobile=mobile)
        suffix = "-m" if mobile else ""

        # 登录 → 密码登录 (the first tab), a wrong password said in Chinese beside the form.
        page.goto("/login/")
        expect(page.get_by_role("link", name="密码登录")).to_have_attribute("aria-current", "page")
        if not mobile:
            ours(page, REGION, "login")
        page.get_by_label("手机号码").fill(operator.phone)
        page.locator("input[name=password]").fill("wrong-password")
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.locator(".form-error")).to_have_text("手机号码或密码不正确")
        page.locator("input[name=password]").fill("Walk-2026-pages")
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page).to_have_url(re.compile(r"/account/$"))
        expect(page.locator(".messages")).to_contain_text(f"{enterprise}，欢迎您！")
        expect(page.locator(".topbar-name")).to_have_text(enterprise)
        assert operator.user.username not in page.locator("body").inner_text()
        screenshot(page, REGION, f"signed-in{suffix}")
        if mobile:
            page.locator(".topbar-logout button").click()
        else:  # the confirmation page allauth shows to a GET of /accounts/logout/
            page.goto("/accounts/logout/")
            expect(page.locator(".auth-lead")).to_contain_text(f"{enterprise}，确定要退出登录吗？")
            ours(page, REGION, "logout")
            page.get_by_role("button", name="退出登录").click()
        expect(page.locator(".messages")).to_contain_text("您已安全退出登录")

        # 验证码登录: phone, picture check, 获取验证码 → the code page with its countdown.
        page.goto("/accounts/login/")
        page.get_by_role("link", name="验证码登录").click()
        expect(page).to_have_url(re.compile(r"/accounts/login/code/$"))
        if not mobile:
            ours(page, REGION, "login-code")
        page.get_by_label("手机号码").fill(operator.phone)
        page.get_by_label("图形验证码").fill(captcha_read(page, REGION))
        page.get_by_role("button", name="获取验证码").click()
        # The code is asked for on the same page; the button counts down to 重新获取验证码.
        status = page.locator("[data-code-status]")
        expect(status).to_contain_text("验证码已发送至 " + operator.phone[:3] + "****" + operator.phone[-4:])
        expect(page.locator("[data-code-send]")).to_be_disabled()
        expect(page.locator("[data-code-send]")).to_contain_text("秒后可重新获取")
        expect(page).to_have_url(re.compile(r"/accounts/login/code/$"))
        if not mobile:
            ours(page, REGION, "login-code-sent")
        page.locator("input[name=code]").fill(sms_read(REGION, operator.phone))
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page).to_have_url(re.compile(r"/account/$"))
        expect(page.locator(".topbar-name")).to_have_text(enterprise)
        page.locator(".topbar-logout button").click()

        # 忘记密码: the picture check is labelled; the code and the new password on step 2.
        page.goto("/login/")
        page.get_by_role("link", name="忘记密码").click()
        expect(page).to_have_url(re.compile(r"/login/reset/$"))
        if not mobile:
            ours(page, REGION, "password-reset")
        page.get_by_label("手机号码").fill(operator.phone)
        page.get_by_label("图形验证码").fill(captcha_read(page, REGION))
        page.get_by_role("button", name="获取验证码").click()
        expect(page).to_have_url(re.compile(r"/login/reset/confirm/$"))
        if not mobile:
            ours(page, REGION, "password-reset-confirm")
        page.locator("input[name=code]").fill(sms_read(REGION, operator.phone))
        page.locator("input[name=password1]").fill("Walk-2026-pages")
        page.get_by_label("确认新密码").fill("Walk-2026-pages")
        page.get_by_role("button", name="重置密码").click()
        expect(page.locator(".messages")).to_contain_text("密码已重置")
        assert_clean(page)
        _reset_sms_gap(operator.phone)


def _reset_sms_gap(phone: str) -> None:
    """A minute passes between the two widths' texts (the limits themselves are tested elsewhere)."""
    from django.core.cache import caches

    caches["global"].clear()
    caches["default"].clear()


def test_xinjiang_login_leads_back_to_the_trading_platform(page_factory: PageFactory) -> None:
    page = page_factory("xinjiang")
    page.goto("/login/")
    ours(page, "xinjiang", "login")
    link = page.get_by_role("link", name="前往交易平台登录")
    expect(link).to_have_attribute("href", "http://zwfw.xinjiang.gov.cn/xinjiangggzy/index_new.html")
    header = page.locator(".topbar-hotline")
    expect(header).to_contain_text("400-800-5100")
    expect(header).to_contain_text("400-153-8889")
    # The gold hotline panel of the landing page is readable (dark text on gold).
    page.goto("/")
    colour = page.evaluate("getComputedStyle(document.querySelector('.hero-contact')).color")
    assert colour == "rgb(31, 26, 10)", colour
    screenshot(page, "xinjiang", "landing-header")
    assert_clean(page)


def test_xuancheng_login_is_its_ca_key_only(page_factory: PageFactory) -> None:
    for mobile in (False, True):
        page = page_factory("xuancheng", mobile=mobile)
        page.goto("/login/")
        expect(page.get_by_role("button", name="证书登录")).to_be_visible()
        expect(page.get_by_role("link", name="密码登录")).to_have_count(0)
        if not mobile:
            ours(page, "xuancheng", "login")
        assert page.goto("/accounts/login/").status == 404  # type: ignore[union-attr]
        assert_clean(page)


def test_benxi_phone_verification_and_password_change(page_factory: PageFactory) -> None:
    """An account whose phone is not yet verified is asked for a code after its password; a signed-in bidder
    changes the password on a page of ours."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from baohan.identity.models import UserPhone
    from tests.api import tenant

    _, operator = bidder_api(REGION, password="Walk-2026-verify")
    with tenant_context(tenant(REGION)):
        UserPhone.objects.filter(user=operator.user).update(verified=False)
    connection.set_schema_to_public()
    page = page_factory(REGION)
    page.goto("/accounts/login/")
    page.get_by_label("手机号码").fill(operator.phone)
    page.locator("input[name=password]").fill("Walk-2026-verify")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/phone/verify/$"))
    expect(page.get_by_role("heading", name="手机号验证")).to_be_visible()
    ours(page, REGION, "phone-verify")
    page.locator("input[name=code]").fill(sms_read(REGION, operator.phone))
    page.get_by_role("button", name="验证", exact=True).click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.locator(".topbar-name")).to_have_text(operator.enterprise.name)

    page.goto("/accounts/password/change/")
    ours(page, REGION, "password-change")
    page.locator("input[name=oldpassword]").fill("Walk-2026-verify")
    page.locator("input[name=password1]").fill("Walk-2026-changed")
    page.locator("input[name=password2]").fill("Walk-2026-changed")
    page.get_by_role("button", name="修改密码").click()
    expect(page.locator(".messages")).to_contain_text("密码已修改")
    assert_clean(page)
