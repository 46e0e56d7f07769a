"""Each centre's landing and login pages in a real browser: its own title, its theme loaded, nothing broken."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Response, expect

from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack
from tenants.themes import theme_static_url
from tests.browser.conftest import LiveSite, PageFactory, assert_clean, screenshot

REGIONS = ("xinjiang", "xuancheng", "benxi")

# Every stylesheet the page links answered and was parsed (a sheet that failed has no rules to read).
STYLESHEETS_LOADED = """() => [...document.styleSheets].filter((sheet) => sheet.href).map((sheet) => {
    let rules = 0;
    try { rules = sheet.cssRules.length; } catch (error) { rules = -1; }
    return [new URL(sheet.href).pathname, rules];
})"""
BRAND = "getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()"


def centre(code: str) -> tuple[str, str, str]:
    """site title, primary colour, theme stylesheet URL, from the centre's rule pack in force."""
    tenant = Tenant.objects.get(code=code)
    pack = tenant_rule_pack(tenant=tenant)
    theme_css = theme_static_url("css/theme.css", tenant.theme)
    assert theme_css, f"{code}'s theme {tenant.theme!r} has no css/theme.css"
    return pack.centre.site_title, pack.centre.primary_colour, theme_css


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize(("path", "name"), [("/", "landing"), ("/login/", "login")])
def test_the_page_is_the_centres_own(page_factory: PageFactory, region: str, path: str, name: str) -> None:
    site_title, colour, theme_css = centre(region)
    page = page_factory(region)

    def is_theme_css(response: Response) -> bool:
        return response.url.endswith(theme_css)

    with page.expect_response(is_theme_css) as stylesheet:
        response = page.goto(path)
    assert response is not None
    assert response.status == 200
    assert stylesheet.value.status == 200

    expect(page).to_have_title(re.compile(re.escape(site_title)))
    expect(page.locator("body")).to_contain_text(site_title)
    assert page.evaluate("document.documentElement.lang") == "zh-hans"
    assert page.evaluate(BRAND).lower() == colour.lower()
    sheets = dict(page.evaluate(STYLESHEETS_LOADED))
    assert sheets.get(theme_css, 0) > 0, sheets
    assert all(rules > 0 for rules in sheets.values()), sheets

    screenshot(page, region, name)
    assert_clean(page)


@pytest.mark.parametrize("region", REGIONS)
def test_the_landing_page_fits_a_phone(page_factory: PageFactory, region: str) -> None:
    page = page_factory(region, mobile=True)
    page.goto("/")
    page.wait_for_load_state("load")
    scroll_width, inner_width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert inner_width == 390
    screenshot(page, region, "landing-phone")
    assert scroll_width <= inner_width, f"{region}: the page is {scroll_width}px wide on a {inner_width}px phone"
    assert_clean(page)


def test_cookies_stay_on_the_host_that_set_them(live_site: LiveSite, page_factory: PageFactory) -> None:
    page = page_factory("benxi")
    page.goto("/login/")
    cookies = page.context.cookies(live_site.url("benxi"))
    assert cookies, "benxi set no cookie: nothing to check"
    assert {cookie["domain"] for cookie in cookies} == {"benxi.localhost"}  # host-only: no leading dot

    assert page.context.cookies(live_site.url("xinjiang")) == []
    assert page.context.cookies(live_site.platform_url()) == []
    with page.expect_request(lambda request: request.url.startswith(live_site.url("xinjiang"))) as sent:
        page.goto(live_site.url("xinjiang", "/"))
    assert "cookie" not in sent.value.all_headers()
    assert_clean(page)


def test_the_platform_home_finds_a_centre(live_site: LiveSite, page_factory: PageFactory) -> None:
    for mobile in (False, True):
        page = page_factory(mobile=mobile)
        page.goto(live_site.platform_url("/"))
        page.get_by_label("查找交易中心").fill("本溪")
        page.get_by_role("button", name="查找").click()
        items = page.locator(".centre-item")
        expect(items).to_have_count(1)
        expect(items.first).to_contain_text("本溪")
        expect(page.locator("[data-centre-count]")).to_contain_text("1 个")
        screenshot(page, "platform", "home-search-phone" if mobile else "home-search")
        scroll_width, inner_width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width
        assert_clean(page)
