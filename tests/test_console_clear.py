"""The console speaks clearly: pack errors in Chinese naming line, column and key; theme colours
refused below WCAG AA contrast; the onboarded centre's site and next steps; billing in the menu."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from baohan.console.changes import version_label_next
from baohan.console.contrast import contrast_ratio, theme_colour_problem
from baohan.console.models import ConsoleAction
from tenants.models import RulePackVersion, Tenant
from tests.test_console import console_user
from tests.test_console_theme import form

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return response.content.decode()  # type: ignore[no-any-return]


def pack_text(code: str) -> str:
    return (Path(settings.REGIONS_DIR) / f"{code}.yaml").read_text(encoding="utf-8")


def line_of(source: str, needle: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if needle in line)


def test_a_pack_error_names_line_column_and_key_in_chinese() -> None:
    _, admin = console_user("platform_admin")
    source = pack_text("benxi").replace("  name:", "  colour_typo: x\n  name:", 1)
    source = source.replace("version:", "version: [oops]  #", 1)
    response = admin.post("/console/centres/benxi/pack", {"source": source, "action": "validate"})
    page = text(response)
    assert response.status_code == 400
    typo = line_of(source, "colour_typo")
    item = re.search(r'<li data-line="(\d+)" data-column="(\d+)" data-key="centre.colour_typo">(.*?)</li>', page, re.S)
    assert item, page[page.find("problems") : page.find("problems") + 1500]
    assert (int(item.group(1)), int(item.group(2))) == (typo, 3)
    assert f"第 {typo} 行，第 3 列" in item.group(3)
    assert "不认识的键" in item.group(3)
    assert 'data-key="version"' in page
    assert "应为文本" in page
    assert "unknown key" not in page
    assert "Input should be" not in page


def test_yaml_that_does_not_parse_names_its_line() -> None:
    _, admin = console_user("platform_admin")
    source = "version: x\ncentre:\n  code: benxi\n  name: [unclosed\n"
    page = text(admin.post("/console/centres/benxi/pack", {"source": source, "action": "validate"}))
    assert re.search(r'data-line="\d+" data-column="\d+"', page)
    assert "YAML 格式错误" in page


def test_a_republished_label_suggests_the_next_one() -> None:
    _, admin = console_user("platform_admin")
    benxi = Tenant.objects.get(code="benxi")
    live = benxi.current_rule_pack
    source = live.source_text.replace("hotlines:", "hotlines:\n    - 024-1111111", 1)
    page = text(admin.post("/console/centres/benxi/pack", {"source": source, "action": "validate"}))
    suggested = version_label_next(taken=[live.label])
    if live.label != suggested:
        assert re.match(r"^\d{4}\.\d{2}-\d+$", suggested)
    assert "已发布过其他内容" in page
    assert f"建议：{version_label_next(taken=list(benxi.rule_packs.values_list('label', flat=True)))}" in page
    assert version_label_next(taken=["2026.12-1", "2026.12-3", "2025.01-9"]).endswith(("-1", "-4"))


def test_contrast_is_computed_as_wcag_says() -> None:
    assert round(contrast_ratio("#ffffff", "#000000"), 2) == 21.0
    assert round(contrast_ratio("#777777", "#ffffff"), 2) == 4.48
    assert theme_colour_problem(key="primary_colour", label="主色", value="#1f5fbf") == ""
    assert "4.48:1" in theme_colour_problem(key="primary_colour", label="主色", value="#777777")
    # The accent needs to be readable on the white page or on the dark footer.
    assert theme_colour_problem(key="accent_colour", label="辅色", value="#f28c28") == ""
    assert theme_colour_problem(key="accent_colour", label="辅色", value="#2a7ab0") == ""
    assert "页脚" in theme_colour_problem(key="accent_colour", label="辅色", value="#808080")


def test_a_theme_colour_below_contrast_is_refused_and_changes_nothing() -> None:
    _, staff = console_user("centre_staff", "benxi")
    benxi = Tenant.objects.get(code="benxi")
    versions = RulePackVersion.objects.filter(tenant=benxi).count()
    response = staff.post("/console/centres/benxi/theme", form(primary_colour="#aaaaaa", accent_colour="#888888"))
    page = text(response)
    assert response.status_code == 400
    error = re.search(r'<p class="field-error" id="e-primary_colour">(.*?)</p>', page, re.S)
    assert error
    assert "主色" in error.group(1)
    assert "2.32:1" in error.group(1)
    assert "4.5:1" in error.group(1)
    accent = re.search(r'<p class="field-error" id="e-accent_colour">(.*?)</p>', page, re.S)
    assert accent
    assert "辅色" in accent.group(1)
    assert 'type="color"' in page
    assert 'class="theme-frame"' not in page  # no preview of a colour that cannot be read
    staff.post("/console/centres/benxi/theme", {"action": "publish"})
    assert RulePackVersion.objects.filter(tenant=benxi).count() == versions
    assert not ConsoleAction.objects.filter(tenant=benxi, action="theme_publish").exists()


def test_the_centre_page_links_its_site_and_after_onboarding_lists_next_steps() -> None:
    _, admin = console_user("platform_admin")
    page = text(admin.get("/console/centres/benxi/?onboarded=1"))
    assert re.search(r'href="http://benxi\.localhost(:\d+)?/"', page)
    steps = page[page.index('id="next-steps"') :]
    for step in (
        "/credentials/#api-credentials",
        "#ca-roots",
        "staff_user --centre benxi",
        "issuer_user --centre benxi",
    ):
        assert step in steps
    assert 'id="next-steps"' not in text(admin.get("/console/centres/benxi/"))
    assert 'href="/console/billing/"' in page  # billing in the menu
