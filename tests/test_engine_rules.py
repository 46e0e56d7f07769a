"""Standing rules of the codebase that a test can check."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

REGION_WORDS = re.compile(r"xinjiang|xuancheng|benxi|新疆|宣城|本溪", re.IGNORECASE)


def test_no_region_name_in_engine_code() -> None:
    platform_dir = Path(settings.PLATFORM_DIR)
    hits = [
        f"{path.relative_to(platform_dir)}:{number}"
        for path in platform_dir.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if REGION_WORDS.search(line)
    ]
    assert hits == []


def test_platform_is_a_source_root_not_a_package() -> None:
    assert not (Path(settings.PLATFORM_DIR) / "__init__.py").exists()
    import platform

    assert hasattr(platform, "python_version")  # the standard library's module, not ours
