"""The CJK font embedded in generated PDFs.

reportlab's built-in Chinese fonts (STSong-Light) are only named in the file, not embedded: on a
machine without Chinese fonts they show blank or as boxes. A TrueType font is embedded (subset)
instead: WenQuanYi Zen Hei, brought by ``make fonts`` (from the machine, else Debian's package)
into ``.data/fonts``; ``BAOHAN_CJK_FONT`` names another TrueType file (``.ttf``/``.ttc``)."""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings

FONT_NAME = "BaohanCJK"
SYSTEM_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


class FontMissing(RuntimeError):
    pass


def font_path() -> Path:
    for candidate in (Path(settings.BAOHAN_CJK_FONT), SYSTEM_FONT):
        if candidate.is_file():
            return candidate
    raise FontMissing(f"no CJK TrueType font at {settings.BAOHAN_CJK_FONT}: run `make fonts`, or set BAOHAN_CJK_FONT")


@functools.cache
def cjk_font() -> str:
    """Register the font with reportlab once per process; its name for styles."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = font_path()
    # The first face of a collection (.ttc); a single-font file has only that one.
    font = TTFont(FONT_NAME, str(path), subfontIndex=0)
    # Each document's subset copies tables out of the file; the glyph table (megabytes for a CJK
    # font) once per process instead of once per document.
    font.face.get_table = functools.cache(font.face.get_table)  # type: ignore[method-assign]
    pdfmetrics.registerFont(font)
    return FONT_NAME
