"""The walks' theme check is not a formality: with a centre's override deleted, it fails."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.template import engines

from tests.browser.conftest import PageFactory
from tests.browser.walk import landing_themed


def templates_forget() -> None:
    for loader in engines["django"].engine.template_loaders:  # type: ignore[attr-defined]
        loader.reset()


@pytest.fixture
def themes_copy(settings: Any, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "themes"
    shutil.copytree(settings.THEMES_DIR, copy)
    settings.THEMES_DIR = copy
    templates_forget()
    yield copy
    templates_forget()


@pytest.mark.parametrize("region", ["benxi", "xinjiang"])
def test_a_deleted_template_override_fails_the_walk(page_factory: PageFactory, themes_copy: Path, region: str) -> None:
    page = page_factory(region)
    landing_themed(page, region)  # as shipped
    (themes_copy / region / "templates" / "portal" / "_hero.html").unlink()
    templates_forget()
    with pytest.raises(AssertionError):
        landing_themed(page, region)
