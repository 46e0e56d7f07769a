"""Steps the regional walks share: the parties outside the browser act through the API (the issuer
approves and issues, the trading centre opens the bids), the bidder acts only in the browser."""

from __future__ import annotations

import itertools
import re
import secrets
from typing import Any

from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from baohan.guarantees.models import Order
from baohan.identity.models import SmsMessage
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack
from tests.api import Api, captcha_answer, centre_api, issuer_api, section_payload, sms_limits_waive

_serial = itertools.count(1)


def unique(prefix: str) -> str:
    """A code no other run or test has used (the walks commit what they make)."""
    return f"{prefix}-{secrets.token_hex(3).upper()}-{next(_serial)}"


def section_publish(region: str, **extra: Any) -> tuple[str, Api]:
    centre = centre_api(region)
    code = unique("WALK")
    status, body = centre.put(f"/api/v1/centre/sections/{code}", section_payload(**extra))
    assert status == 201, body
    return code, centre


def landing_themed(page: Page, region: str) -> None:
    """The centre's landing page as its theme draws it: Benxi's and Xinjiang's own hero (a template
    override), Xuancheng's brand rule over every card (its stylesheet). Deleting the override fails it."""
    page.goto("/")
    themed(page, region)
    if region == "xuancheng":
        width = page.evaluate("getComputedStyle(document.querySelector('.card')).borderTopWidth")
        assert width == "3px", width
    else:
        expect(page.locator(f'[data-theme="{region}"]')).to_be_visible()


def themed(page: Page, region: str) -> None:
    """The page wears the centre's own theme: its stylesheet and, where it has one, its hero."""
    tenant = Tenant.objects.get(code=region)
    sheets = page.evaluate("[...document.styleSheets].map((s) => s.href || '')")
    assert any(f"/themes/{tenant.theme}/" in href for href in sheets), sheets
    site_title = tenant_rule_pack(tenant=tenant).centre.site_title
    expect(page.locator(".brand-title")).to_have_text(site_title)


def order_number(page: Page) -> str:
    match = re.search(r"/orders/([^/]+)/", page.url)
    assert match, page.url
    return match.group(1)


def order_state(region: str, number: str) -> str:
    with tenant_context(Tenant.objects.get(code=region)):
        state = Order.objects.get(number=number).state
    connection.set_schema_to_public()
    return state


def captcha_read(page: Page, region: str, form: str = "form") -> str:
    """What a person reads off the picture: the answer to the page's current captcha."""
    key = page.locator(f"{form} [data-captcha-key]").first.input_value()
    return captcha_answer(region, key)


def sms_read(region: str, phone: str) -> str:
    """The code texted to ``phone`` (the dev outbox stands in for the SMS gateway)."""
    with tenant_context(Tenant.objects.get(code=region)):
        message = SmsMessage.objects.filter(phone=phone).order_by("-created_at").first()
        assert message is not None, f"no text to {phone}"
        code = str(message.params.get("code") or re.search(r"\d{6}", message.text).group(0))  # type: ignore[union-attr]
    connection.set_schema_to_public()
    return code


def operator_check(page: Page, region: str, form: str, phone: str) -> None:
    """Picture code, 获取验证码, then the SMS code, inside ``form``. The one-a-minute limit per phone is
    waived (a walk asks twice within a minute; tests/test_login_sms.py tests the limit itself)."""
    sms_limits_waive(region, phone)
    scope = page.locator(form)
    scope.locator("[data-captcha-answer]").fill(captcha_read(page, region, form))
    scope.get_by_role("button", name="获取验证码").click()
    expect(scope.locator("[data-sms-status]")).to_contain_text("验证码已发送至")
    scope.locator("input[name=sms_code]").fill(sms_read(region, phone))


def issuer_for(region: str, code: str) -> Api:
    return issuer_api(region, code)


def download(page: Page, link_text: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_text).first.click()
    path = info.value.path()
    with open(path, "rb") as handle:
        return handle.read()


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
    .filter((el) => el.offsetParent !== null)
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map((el) => el.name || el.id || el.outerHTML.slice(0, 60))"""
OVERFLOW = "document.scrollingElement.scrollWidth - window.innerWidth"
# The outermost elements reaching past the right edge, to name in a failure.
WIDE = """() => [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    .filter((el) => !el.parentElement || el.parentElement.getBoundingClientRect().right <= window.innerWidth + 1)
    .map((el) => el.tagName.toLowerCase() + '.' + [...el.classList].join('.'))
    .slice(0, 5)"""


# WCAG 2 contrast of every visible text against the background it sits on: 4.5:1, 3:1 for large text.
LOW_CONTRAST = """() => {
    const rgba = (s) => (s.match(/[\\d.]+/g) || [0, 0, 0, 0]).map(Number);
    const lum = (c) => {
        const [r, g, b] = c.slice(0, 3).map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const under = (el) => {
        for (let e = el; e; e = e.parentElement) {
            const c = rgba(getComputedStyle(e).backgroundColor);
            if (getComputedStyle(e).backgroundImage !== 'none') return null;  // text on a picture or gradient
            if (c.length < 4 || c[3] === undefined || c[3] >= 1) return c;
            if (c[3] > 0) return null;  // translucent: not judged here
        }
        return [255, 255, 255];
    };
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
        const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        if (!el.offsetParent || !ownText) continue;
        const style = getComputedStyle(el);
        const back = under(el);
        if (!back) continue;
        const a = lum(rgba(style.color)), b = lum(back);
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
        const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
        const name = el.tagName.toLowerCase() + '.' + [...el.classList].join('.');
        if (ratio < need) out.push(name + ' ' + ratio.toFixed(2));
    }
    return out.slice(0, 8);
}"""


def accessible(page: Page) -> None:
    """Every visible control has a name a screen reader can read (a tied label, or its own text),
    and every text is readable against its background."""
    unlabelled = page.evaluate(UNLABELLED)
    assert unlabelled == [], f"{page.url}: unlabelled {unlabelled}"
    faint = page.evaluate(LOW_CONTRAST)
    assert faint == [], f"{page.url}: too little contrast {faint}"


def fits_phone(page: Page, region: str, name: str) -> None:
    """The page, at a phone's width, scrolls only downwards; saved as ``<name>-phone``."""
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        wide = page.evaluate(WIDE)
        assert page.evaluate(OVERFLOW) <= 0, f"{page.url} is wider than a phone: {wide}"
        from tests.browser.conftest import screenshot

        screenshot(page, region, f"{name}-phone")
    finally:
        if size is not None:
            page.set_viewport_size(size)


def tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    """Move the keyboard focus with Tab alone until ``selector`` has it: the control is reachable
    without a mouse, in the page's order."""
    target = page.locator(selector).first
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("(el) => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} is not reachable with Tab on {page.url}")
