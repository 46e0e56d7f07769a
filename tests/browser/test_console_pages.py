"""The console in a real browser: a pack's errors readable (contrast computed by the browser), in
Chinese with line, column and key; a rollback that asks first; the action log in words; theme
colours with a picker, refused below contrast. Desktop and phone screenshots."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from playwright.sync_api import Page, expect

from baohan.console.models import ConsoleRole
from baohan.identity.fields import mask_phone
from tenants.models import RulePackVersion, Tenant
from tests.browser.conftest import LiveSite, PageFactory, assert_clean, screenshot
from tests.browser.walk import fits_phone, sms_read

pytestmark = pytest.mark.browser

PASSWORD = "console-pass-2026"

# The contrast of each element's text against the first opaque background behind it, as WCAG 2 computes it.
CONTRASTS = """(selector) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ground = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
  return [...document.querySelectorAll(selector)].map((el) => {
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(ground(el));
    return [el.textContent.trim().slice(0, 40), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}"""


def admin_page(live_site: LiveSite, page_factory: PageFactory, **options: Any) -> Page:
    connection.set_schema_to_public()
    user = User.objects.create_user(username=f"admin-{secrets.token_hex(4)}", password=PASSWORD)
    ConsoleRole.objects.create(user=user, kind="platform_admin")
    page = page_factory(**options)
    page.goto(live_site.platform_url("/console/login/"))
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page.locator(".console-page")).to_be_visible()
    return page


def source_set(page: Page, source: str) -> None:
    """Type the pack into the editor (Ace, which keeps the form's text area in step)."""
    page.wait_for_function("() => window.packEditor")
    page.evaluate("(text) => window.packEditor.setValue(text, -1)", source)


def test_pack_errors_are_readable_and_name_line_column_and_key(live_site: LiveSite, page_factory: PageFactory) -> None:
    page = admin_page(live_site, page_factory)
    source = (Path(settings.REGIONS_DIR) / "benxi.yaml").read_text(encoding="utf-8")
    source = source.replace("  name:", "  colour_typo: x\n  name:", 1)
    typo_line = next(i for i, line in enumerate(source.splitlines(), 1) if "colour_typo" in line)
    page.goto(live_site.platform_url("/console/centres/benxi/pack"))
    expect(page.locator(".pack-editor .ace_content")).to_be_visible()  # highlighted, not a bare text area
    expect(page.locator("#f-source")).to_be_hidden()
    expect(page.locator("#client-problems")).to_contain_text("浏览器校验通过")
    source_set(page, source)
    # The browser checks against regions/schema.json before anything is sent.
    early = page.locator('#client-problems li[data-key="centre.colour_typo"]')
    expect(early).to_contain_text(f"第 {typo_line} 行，第 3 列")
    expect(early).to_contain_text("不认识的键")
    assert page.locator(".ace_gutter-cell.ace_error").count() >= 1
    screenshot(page, "console", "pack-editor-check")
    page.get_by_role("button", name="校验并对比").click()
    problem = page.locator('.pack-problems li[data-key="centre.colour_typo"]')
    expect(problem).to_contain_text(f"第 {typo_line} 行，第 3 列")
    expect(problem).to_contain_text("不认识的键")
    selector = ".pack-problems p, .pack-problems li, .pack-problems code, .pack-problems span, .client-problems li"
    ratios = page.evaluate(CONTRASTS, selector)
    assert ratios
    assert all(ratio >= 4.5 for _, ratio in ratios), ratios
    screenshot(page, "console", "pack-errors")
    fits_phone(page, "console", "pack-errors")
    assert_clean(page)


def test_a_rollback_asks_first_and_the_log_reads_in_words(live_site: LiveSite, page_factory: PageFactory) -> None:
    page = admin_page(live_site, page_factory)
    benxi = Tenant.objects.get(code="benxi")
    live = benxi.current_rule_pack
    assert live is not None
    # A version to roll back from: the live pack with one more hotline, published through the page.
    page.goto(live_site.platform_url("/console/centres/benxi/pack"))
    label = page.locator(".suggested-label").inner_text()
    changed = live.source_text.replace(f"version: {live.label}", f"version: {label}", 1)
    changed = changed.replace(f'version: "{live.label}"', f'version: "{label}"', 1)
    changed = changed.replace("hotlines:", "hotlines:\n    - 024-7654321", 1)
    source_set(page, changed)
    page.get_by_role("button", name="预览变更影响").click()
    expect(page.locator("#confirm-publish")).to_contain_text(label)
    expect(page.locator('.key-changes tr[data-key="centre.hotlines"]')).to_contain_text("024-7654321")
    screenshot(page, "console", "pack-publish-confirm")
    page.get_by_role("button", name="确认发布").click()
    expect(page.locator(".message, .messages").first).to_contain_text("已发布规则版本")
    benxi.refresh_from_db()
    published = benxi.current_rule_pack
    assert published is not None
    assert published.label == label

    page.goto(live_site.platform_url("/console/centres/benxi/"))
    page.locator(f'li[data-version="{live.number}"]').get_by_role("link", name=f"回滚到 V{live.number}").click()
    expect(page.locator("#confirm")).to_contain_text(f"V{published.number + 1}")
    expect(page.locator('.key-changes tr[data-key="centre.hotlines"]')).to_be_visible()
    assert RulePackVersion.objects.filter(tenant=benxi).count() == published.number  # asking changed nothing
    screenshot(page, "console", "pack-rollback-confirm")
    fits_phone(page, "console", "pack-rollback-confirm")
    page.get_by_role("button", name="确认回滚").click()
    benxi.refresh_from_db()
    assert benxi.current_rule_pack is not None
    assert benxi.current_rule_pack.number == published.number + 1

    page.goto(live_site.platform_url("/console/actions/"))
    first = page.locator("tr[data-action]").first
    expect(first).to_contain_text(f"回滚规则包：V{live.number} 重新发布为 V{published.number + 1}")
    expect(first).to_contain_text("本溪")
    expect(page.locator('tr[data-action="pack_publish"]').first).to_contain_text(
        f"发布规则包 V{published.number}（{label}）"
    )
    screenshot(page, "console", "actions")
    fits_phone(page, "console", "actions")
    assert_clean(page)


def test_a_theme_colour_below_contrast_is_refused(live_site: LiveSite, page_factory: PageFactory) -> None:
    page = admin_page(live_site, page_factory)
    page.goto(live_site.platform_url("/console/centres/benxi/theme"))
    expect(page.locator("#p-primary_colour")).to_have_attribute("type", "color")
    page.locator("#f-primary_colour").fill("#aaaaaa")
    assert page.locator("#p-primary_colour").input_value() == "#aaaaaa"  # the picker follows the text
    page.get_by_role("button", name="预览").click()
    expect(page.locator("#e-primary_colour")).to_contain_text("2.32:1")
    ratios = page.evaluate(CONTRASTS, ".field-error:not(:empty)")
    assert ratios
    assert all(ratio >= 4.5 for _, ratio in ratios), ratios
    screenshot(page, "console", "theme-contrast")
    fits_phone(page, "console", "theme-contrast")
    assert_clean(page)


def test_credentials_are_one_row_each_and_rotate_in_a_dialog(live_site: LiveSite, page_factory: PageFactory) -> None:
    page = admin_page(live_site, page_factory)
    page.goto(live_site.platform_url("/console/centres/xuancheng/credentials/"))
    page.locator("#api-credentials summary").click()
    page.get_by_label("备注").fill("浏览器测试")
    page.locator("#api-create button[type=submit]").click()
    expect(page.locator("#secret-once")).to_be_visible()
    row = page.locator('#api-credentials tr[data-state="active"]').filter(has_text="浏览器测试")
    height = row.evaluate("(el) => el.getBoundingClientRect().height")
    assert height < 80, height  # one line each, not a form per row
    screenshot(page, "console", "credentials")
    fits_phone(page, "console", "credentials")
    key_id = row.get_attribute("data-credential")
    row.get_by_role("link", name="轮换").click()
    dialog = page.locator(f"dialog#rot-{key_id}")
    expect(dialog).to_be_visible()
    assert dialog.evaluate("(el) => el.matches(':modal')")
    dialog.get_by_label("过渡期（小时）").fill("2")
    screenshot(page, "console", "credentials-rotate-dialog")
    dialog.get_by_role("button", name="确认轮换").click()
    expect(page.locator("#secret-once")).to_contain_text("轮换后的新接口凭证")
    expect(page.locator(f'tr[data-credential="{key_id}"]')).to_have_attribute("data-state", "overlap")
    assert_clean(page)


def test_without_script_rotation_is_a_page_of_its_own(live_site: LiveSite, page_factory: PageFactory) -> None:
    page = admin_page(live_site, page_factory, java_script_enabled=False)
    page.goto(live_site.platform_url("/console/centres/xuancheng/credentials/"))
    page.locator("#api-credentials summary").click()
    page.get_by_label("备注").fill("无脚本")
    page.locator("#api-create button[type=submit]").click()
    row = page.locator('#api-credentials tr[data-state="active"]').filter(has_text="无脚本")
    expect(row.locator("dialog")).to_be_hidden()
    row.get_by_role("link", name="轮换").click()
    expect(page.locator("h1")).to_contain_text("轮换接口凭证")
    page.get_by_label("过渡期（小时）").fill("1")
    screenshot(page, "console", "credentials-rotate-page")
    page.get_by_role("button", name="确认轮换").click()
    expect(page.locator("#secret-once")).to_contain_text("轮换后的新接口凭证")
    assert_clean(page)


def test_after_onboarding_the_centre_page_links_the_site_and_the_next_steps(
    live_site: LiveSite, page_factory: PageFactory
) -> None:
    page = admin_page(live_site, page_factory)
    page.goto(live_site.platform_url("/console/centres/benxi/?onboarded=1"))
    steps = page.locator("#next-steps")
    expect(steps.locator("a.site-link")).to_have_attribute("href", live_site.url("benxi", "/"))
    expect(steps).to_contain_text("issuer_user --centre benxi")
    expect(page.get_by_role("navigation").get_by_role("link", name="计费")).to_be_visible()
    screenshot(page, "console", "tenant-onboarded")
    fits_phone(page, "console", "tenant-onboarded")
    assert_clean(page)


def test_an_issuer_account_made_in_the_console_signs_in_on_the_workbench(
    live_site: LiveSite, page_factory: PageFactory
) -> None:
    page = admin_page(live_site, page_factory)
    page.goto(live_site.platform_url("/console/centres/benxi/"))
    page.locator("#accounts").get_by_role("link", name="管理工作人员账户").click()
    expect(page.locator("h1")).to_contain_text("工作人员账户")
    phone = f"133{secrets.randbelow(10**8):08d}"
    # A refusal names its field and keeps what was typed.
    page.get_by_label("账户类型").select_option("issuer")
    page.get_by_label("姓名").fill("吴核保")
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="保存账户").click()
    expect(page.locator("#id_acct-issuer_error")).to_contain_text("请选择所属的出函机构")
    expect(page.get_by_label("姓名")).to_have_value("吴核保")
    screenshot(page, "console", "users-error")
    page.get_by_label("出函机构", exact=True).select_option("zijin")
    page.get_by_role("button", name="保存账户").click()
    once = page.locator("#password-once")
    expect(once).to_contain_text("仅显示这一次")
    password = once.locator("[data-secret-once]").inner_text().strip()
    row = page.locator("tr[data-account]").filter(has_text="吴核保")
    expect(row).to_contain_text("紫金")
    expect(row).to_contain_text(mask_phone(phone))
    expect(row).to_contain_text("从未登录")
    screenshot(page, "console", "users")
    fits_phone(page, "console", "users")
    assert_clean(page)
    # The new account signs in on Benxi's workbench: password, then the code texted to the phone.
    desk = page_factory("benxi", mobile=True)
    desk.goto("/issuer/login/")
    desk.get_by_label("手机号码").fill(phone)
    desk.get_by_label("密码").fill(password)
    desk.get_by_role("button", name="下一步：获取短信验证码").click()
    desk.get_by_label("短信验证码").fill(sms_read("benxi", phone))
    desk.get_by_role("button", name="登录", exact=True).click()
    expect(desk).to_have_url(re.compile(r"/issuer/$"))
    expect(desk.locator("body")).to_contain_text("吴核保")
