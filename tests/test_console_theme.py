"""A centre's branding edited in the console: previewed on its own landing page, published as a
new pack version, its logo served by its own site only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from baohan.console.models import ConsoleAction
from tenants.models import Tenant
from tests.api import bomb_png, png_bytes
from tests.test_console import console_user

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return response.content.decode()  # type: ignore[no-any-return]


def form(**changes: str) -> dict[str, str]:
    values = {
        "name": "本溪市公共资源交易中心",
        "site_title": "本溪市公共资源交易中心金融服务平台",
        "primary_colour": "#9b2335",
        "accent_colour": "#2a7ab0",
        "hotlines": "400-800-5100",
        "footer_text": "",
        "version": "2026.12-1-brand1",
        "action": "preview",
    }
    values.update(changes)
    return values


def test_branding_is_previewed_then_published_as_a_new_version() -> None:
    _, staff = console_user("centre_staff", "benxi")
    benxi = Tenant.objects.get(code="benxi")
    before = benxi.current_rule_pack
    assert 'value="#9b2335"' in text(staff.get("/console/centres/benxi/theme"))

    changes = {
        "site_title": "本溪电子保函平台（新）",
        "primary_colour": "#0b6e4f",
        "hotlines": "400-800-5100\n024-4567890",
    }
    preview = staff.post("/console/centres/benxi/theme", form(**changes, footer_text="本溪市财政局监制"))
    assert preview.status_code == 200
    assert 'class="theme-frame"' in text(preview)
    framed = staff.get("/console/centres/benxi/theme/preview")
    page = text(framed)
    assert "本溪电子保函平台（新）" in page
    assert "--brand: #0b6e4f" in page
    assert "024-4567890" in page
    assert "本溪市财政局监制" in page
    # Nothing is live yet: the centre's own site still wears the old brand.
    site = Client(HTTP_HOST="benxi.localhost")
    assert "--brand: #9b2335" in text(site.get("/"))
    benxi.refresh_from_db()
    assert benxi.current_rule_pack_id == before.pk

    published = staff.post("/console/centres/benxi/theme", {"action": "publish"})
    assert published.status_code == 302
    benxi.refresh_from_db()
    assert benxi.current_rule_pack.number == before.number + 1
    assert benxi.current_rule_pack.label == "2026.12-1-brand1"
    home = text(site.get("/"))
    assert "--brand: #0b6e4f" in home
    assert "本溪电子保函平台（新）" in home
    # The pack's own text is kept: comments survive the edit.
    assert "# Rule pack: Benxi" in benxi.current_rule_pack.source_text
    assert ConsoleAction.objects.filter(tenant=benxi, action="theme_publish").exists()
    # Publishing again without a fresh preview does nothing.
    again = staff.post("/console/centres/benxi/theme", {"action": "publish"})
    assert again.status_code == 302
    benxi.refresh_from_db()
    assert benxi.current_rule_pack.number == before.number + 1


def test_bad_branding_is_refused_beside_its_field_and_nothing_changes() -> None:
    _, staff = console_user("centre_staff", "benxi")
    benxi = Tenant.objects.get(code="benxi")
    before = benxi.current_rule_pack_id
    response = staff.post("/console/centres/benxi/theme", form(primary_colour="red"))
    assert response.status_code == 400
    assert re.search(r'id="e-primary_colour">[^<]+<', text(response))
    # A change under a version label already published is refused beside the version field.
    response = staff.post("/console/centres/benxi/theme", form(primary_colour="#111111", version="2026.12-1"))
    assert response.status_code == 400
    assert re.search(r'id="e-version">[^<]*已发布过其他内容[^<]*<', text(response))
    disguised = SimpleUploadedFile("logo.png", b"MZ\x90\x00 not an image", "image/png")
    response = staff.post("/console/centres/benxi/theme", {**form(), "logo": disguised})
    assert response.status_code == 400
    assert re.search(r'id="e-logo">标志应为 PNG 或 JPEG 图片<', text(response))
    bomb = SimpleUploadedFile("logo.png", bomb_png(), "image/png")
    response = staff.post("/console/centres/benxi/theme", {**form(), "logo": bomb})
    assert response.status_code == 400
    assert re.search(r'id="e-logo">标志应为 PNG 或 JPEG 图片<', text(response))
    benxi.refresh_from_db()
    assert benxi.current_rule_pack_id == before


def test_a_logo_is_served_by_its_own_centre_only() -> None:
    _, staff = console_user("centre_staff", "benxi")
    logo = SimpleUploadedFile("logo.png", png_bytes((64, 32)), "image/png")
    response = staff.post("/console/centres/benxi/theme", {**form(), "logo": logo})
    assert response.status_code == 200
    path = re.search(r"(/branding/benxi/[0-9a-f]+\.png)", text(staff.get("/console/centres/benxi/theme/preview")))
    assert path, "the preview shows the new logo"
    served = Client(HTTP_HOST="benxi.localhost").get(path.group(1))
    assert (served.status_code, served["Content-Type"]) == (200, "image/png")
    assert Client(HTTP_HOST="xinjiang.localhost").get(path.group(1)).status_code == 404


def test_one_centres_staff_cannot_touch_anothers_theme() -> None:
    _, staff = console_user("centre_staff", "xinjiang")
    assert staff.get("/console/centres/benxi/theme").status_code == 404
    assert staff.post("/console/centres/benxi/theme", form()).status_code == 404
    assert staff.get("/console/centres/benxi/theme/preview").status_code == 404
