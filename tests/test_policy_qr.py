"""The QR code on a policy is the verification URL's own code: the squares drawn in the PDF, read back
from its content stream, are module for module the QR code of the URL, with its quiet zone; the layout
of a theme is read again when its file changes."""

from __future__ import annotations

import io
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pikepdf
import pytest
import segno
from django.conf import settings
from django.utils import timezone

from baohan.documents.policy import PolicyFacts, policy_layout, policy_render, qr_matrix, qr_runs

MM = 72 / 25.4
SIZE = 32 * MM


def facts(url: str) -> PolicyFacts:
    return PolicyFacts(
        centre="测试交易中心",
        issuer="测试保险股份有限公司",
        guarantee_number="BH2026120400001",
        bidder="测试建设有限公司",
        insured="测试招标人",
        project="测试工程",
        section="测试工程第1标段",
        section_code="SEC-0001",
        insured_amount=Decimal("10000.00"),
        premium=Decimal("40.00"),
        valid_from=date(2026, 12, 4),
        valid_until=date(2027, 3, 4),
        clauses="测试条款",
        issued_at=timezone.make_aware(datetime(2026, 12, 4, 10, 30)),
        verification_code="AB12CD34",
        verify_url=url,
    )


def drawn_modules(pdf: bytes, modules: int) -> set[tuple[int, int]]:
    """The dark modules of the QR code, read back from the rectangles of the page's content stream."""
    cell = SIZE / (modules + 4)
    dark: set[tuple[int, int]] = set()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for operands, operator in pikepdf.parse_content_stream(document.pages[0]):
            if str(operator) != "re":
                continue
            x, y, width, height = (float(v) for v in operands)
            if abs(height - cell) > 0.01:
                continue  # a table's background, not a module
            row = round((SIZE - y) / cell) - 3
            first = round(x / cell) - 2
            dark.update((row, col) for col in range(first, first + round(width / cell)))
    return dark


@pytest.mark.parametrize(
    "url",
    [
        "https://xinjiang.example.cn/verify/BH2026120400001?code=AB12CD34",
        "http://benxi.localhost:8000/verify/BH20261204000019999?code=ZZ99YY88&x=" + "q" * 60,
    ],
)
def test_the_squares_drawn_are_the_urls_qr_code(url: str) -> None:
    expected = segno.make(url, error="m", boost_error=False)
    matrix = qr_matrix(url)
    assert [[bool(m) for m in row] for row in expected.matrix] == matrix
    pdf = policy_render(facts=facts(url), layout=policy_layout("base"))
    want = {(r, c) for r, row in enumerate(matrix) for c, dark in enumerate(row) if dark}
    assert drawn_modules(pdf, len(matrix)) == want
    # drawn as runs: fewer shapes than modules
    assert len(qr_runs(matrix)) < len(want)


def test_a_theme_layout_is_read_again_when_its_file_changes(tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    for folder in ("base", "probe"):
        (themes / folder / "documents").mkdir(parents=True)
    (themes / "base" / "documents" / "policy.yaml").write_text("title: 电子保单\n", encoding="utf-8")
    layout_file = themes / "probe" / "documents" / "policy.yaml"
    layout_file.write_text("title: 第一版\n", encoding="utf-8")
    original = settings.THEMES_DIR
    settings.THEMES_DIR = themes
    try:
        assert policy_layout("probe").title == "第一版"
        layout_file.write_text("title: 第二版\n", encoding="utf-8")
        stat = layout_file.stat()
        os.utime(layout_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        assert policy_layout("probe").title == "第二版"
    finally:
        settings.THEMES_DIR = original
