"""A region's templates override base only where it differs; base fills the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django_tenants.utils import tenant_context

from tenants.models import Tenant
from tenants.themes import theme_static_url
from tests.conftest import host_client

pytestmark = pytest.mark.django_db

THEMES = Path(settings.THEMES_DIR)


def test_region_override_wins_and_base_fills_the_rest() -> None:
    assert (THEMES / "xinjiang/templates/portal/_hero.html").is_file()
    assert not (THEMES / "xinjiang/templates/portal/landing.html").exists()
    page = host_client("xinjiang.localhost").get("/").content.decode()
    assert 'data-theme="xinjiang"' in page  # the region's hero
    assert 'id="sections"' in page  # base's landing page around it
    assert "技术服务" in page  # base's footer


def test_a_region_without_template_overrides_gets_base() -> None:
    assert not (THEMES / "xuancheng/templates").exists()
    page = host_client("xuancheng.localhost").get("/").content.decode()
    assert "data-theme=" not in page
    assert '<h1 class="centre-name">宣城市公共资源交易中心</h1>' in page


def test_cached_templates_never_leak_between_themes() -> None:
    rendered = {}
    for code in ("xinjiang", "benxi", "xuancheng", "xinjiang"):
        with tenant_context(Tenant.objects.get(code=code)):
            rendered[code] = render_to_string("portal/_hero.html", {})
    assert 'data-theme="xinjiang"' in rendered["xinjiang"]
    assert 'data-theme="benxi"' in rendered["benxi"]
    assert "data-theme" not in rendered["xuancheng"]


def test_theme_static_prefers_the_theme_then_base() -> None:
    assert theme_static_url("css/theme.css", "xuancheng") == "/static/themes/xuancheng/css/theme.css"
    assert theme_static_url("css/site.css", "xuancheng") == "/static/themes/base/css/site.css"
    assert theme_static_url("css/none.css", "xuancheng") == ""
    page = host_client("benxi.localhost").get("/").content.decode()
    assert "/static/themes/benxi/css/theme.css" in page
    assert "/static/themes/base/css/site.css" in page


def test_branding_colours_come_from_the_pack() -> None:
    tenant = Tenant.objects.get(code="benxi")
    colour = tenant.current_rule_pack.data["centre"]["primary_colour"]
    assert f"--brand: {colour}" in host_client("benxi.localhost").get("/").content.decode()
