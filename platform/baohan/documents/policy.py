"""The policy document (电子保单) as a PDF: Chinese text in an embedded font, the facts of the
guarantee in the layout of the centre's theme, and a QR code pointing at the verification page.

Pure: facts and a layout in, bytes out. ``policy_layout`` reads the layout from
``themes/base/documents/policy.yaml``, overridden key by key by the centre's theme."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.utils import timezone

from baohan.documents.fonts import cjk_font

LAYOUT_FILE = Path("documents") / "policy.yaml"


@dataclass(frozen=True)
class PolicyFacts:
    centre: str
    issuer: str
    guarantee_number: str
    bidder: str
    insured: str
    project: str
    section: str
    section_code: str
    insured_amount: Decimal
    premium: Decimal
    valid_from: date
    valid_until: date
    clauses: str
    issued_at: datetime
    verification_code: str
    verify_url: str

    def value(self, name: str) -> str:
        if name == "period":
            return f"{self.valid_from:%Y年%m月%d日} 至 {self.valid_until:%Y年%m月%d日}"
        if name == "issued_at":
            return f"{timezone.localtime(self.issued_at):%Y年%m月%d日 %H:%M}"
        value = getattr(self, name)
        if isinstance(value, Decimal):
            return f"{value:,.2f}"
        return str(value)


@dataclass(frozen=True)
class PolicyLayout:
    title: str
    subtitle: str = ""
    accent: str = "#1f4e79"
    intro: str = ""
    footer: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)


def policy_layout(theme: str) -> PolicyLayout:
    """The base layout with the theme's keys over it (read again when either file changes)."""
    stamps = []
    for folder in ("base", theme):
        path = settings.THEMES_DIR / folder / LAYOUT_FILE
        stamps.append((str(path), path.stat().st_mtime_ns if path.is_file() else None))
    return _layout_read(theme, tuple(stamps))


@functools.lru_cache(maxsize=64)
def _layout_read(theme: str, stamps: tuple[tuple[str, int | None], ...]) -> PolicyLayout:
    data: dict[str, Any] = {}
    for path, stamp in stamps:
        if stamp is not None:
            data.update(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    known = set(PolicyFacts.__dataclass_fields__) | {"period"}
    rows = [(str(label), str(name)) for label, name in data.pop("rows", [])]
    unknown = [name for _, name in rows if name not in known]
    if unknown:
        raise ValueError(f"policy layout of theme {theme!r} names unknown fields: {unknown}")
    return PolicyLayout(rows=rows, **{k: str(v) for k, v in data.items()})


def policy_render(*, facts: PolicyFacts, layout: PolicyLayout) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _reportlab_ready()
    accent = colors.HexColor(layout.accent)
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24, alignment=1, textColor=accent)
    subtitle = ParagraphStyle("subtitle", fontName=font, fontSize=9, leading=12, alignment=1, textColor=colors.grey)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=12, textColor=colors.grey)

    rows = [[Paragraph(label, body), Paragraph(_escape(facts.value(name)), body)] for label, name in layout.rows]
    table = Table(rows, colWidths=[38 * mm, 132 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#c8ccd2")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f4f7")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    code = qr_code(qr_matrix(facts.verify_url), 32 * mm)
    verify = Table(
        [[code, Paragraph(_escape(layout.footer) + "<br/>" + _escape(facts.verify_url), small)]],
        colWidths=[36 * mm, 134 * mm],
    )
    verify.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{layout.title} {facts.guarantee_number}",
        author=facts.issuer,
        subject=facts.centre,
        creator="Baohan",
    )
    story: list[Any] = [Paragraph(_escape(layout.title), title)]
    if layout.subtitle:
        story.append(Paragraph(_escape(layout.subtitle), subtitle))
    story += [Spacer(1, 6 * mm)]
    if layout.intro:
        story += [Paragraph(_escape(layout.intro), body), Spacer(1, 4 * mm)]
    story += [table, Spacer(1, 8 * mm), verify]
    doc.build(story)
    return out.getvalue()


@functools.cache
def _reportlab_ready() -> str:
    """The font registered, and streams Flate-compressed only: reportlab's default also wraps them
    in ASCII85 (a quarter larger, encoded here and decoded again by every reader). The CJK font's
    name."""
    from reportlab import rl_config

    rl_config.useA85 = 0
    return cjk_font()


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code of ``text`` (error correction M, the smallest version that holds it), row by
    row, dark modules True, without the quiet zone."""
    import segno

    return [[bool(module) for module in row] for row in segno.make(text, error="m", boost_error=False).matrix]


def qr_runs(matrix: list[list[bool]]) -> list[tuple[int, int, int]]:
    """The dark modules as horizontal runs: (row, first column, length)."""
    runs = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            runs.append((r, start, c - start))
    return runs


@functools.cache
def _qr_flowable() -> type:
    from reportlab.platypus import Flowable

    class _QrCode(Flowable):
        """A QR code drawn as one filled path of its dark runs, with a quiet zone of 2 modules."""

        def __init__(self, matrix: list[list[bool]], size: float) -> None:
            super().__init__()
            self.matrix = matrix
            self.size = size

        def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
            return self.size, self.size

        def draw(self) -> None:
            count = len(self.matrix) + 4
            cell = self.size / count
            path = self.canv.beginPath()
            for r, c, length in qr_runs(self.matrix):
                path.rect((c + 2) * cell, self.size - (r + 3) * cell, length * cell, cell)
            self.canv.setFillColorRGB(0, 0, 0)
            self.canv.drawPath(path, stroke=0, fill=1)

    return _QrCode


def qr_code(matrix: list[list[bool]], size: float) -> Any:
    """The QR code flowable of ``matrix``, ``size`` points square."""
    return _qr_flowable()(matrix, size)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
