"""Rule packs cite their manuals by file name only: admins read these comments in the console."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

PACKS = sorted(Path(settings.REGIONS_DIR).glob("*.yaml"))
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.-]+/)+[\w.-]+")
MANUAL = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")


@pytest.mark.parametrize("pack", PACKS, ids=[p.stem for p in PACKS])
def test_a_pack_names_its_manual_by_file_name_and_no_machine_path(pack: Path) -> None:
    text = pack.read_text(encoding="utf-8")
    assert MANUAL.search(text), f"{pack.name} does not name the manual it was read from"
    paths = [line.strip() for line in text.splitlines() if ABSOLUTE_PATH.search(line.split("#", 1)[-1])]
    assert paths == [], f"{pack.name} cites files by a machine's path"


def test_the_path_check_finds_a_path() -> None:
    assert ABSOLUTE_PATH.search("# Source: /work/shared/seeds/000_eb230b968bb47a31.txt")
    assert not ABSOLUTE_PATH.search("# Source: 000_eb230b968bb47a31.txt (see https://example.org/a/b)")
