"""Colour contrast (WCAG 2.x relative luminance), so a theme colour that cannot be read is refused."""

from __future__ import annotations

import re

AA_RATIO = 4.5
WHITE = "#ffffff"
FOOTER_BACKGROUND = "#1d2733"  # .site-footer in themes/base/static/css/site.css
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def colour_rgb(value: str) -> tuple[int, int, int] | None:
    match = _HEX.match(value.strip())
    if match is None:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """The contrast ratio of two #rrggbb colours, 1 to 21."""
    rgb_a, rgb_b = colour_rgb(a), colour_rgb(b)
    if rgb_a is None or rgb_b is None:
        raise ValueError("not a #rrggbb colour")
    la, lb = sorted((relative_luminance(rgb_a), relative_luminance(rgb_b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def theme_colour_problem(*, key: str, label: str, value: str) -> str:
    """Why ``value`` may not be the theme's ``key`` colour ("" when it may).

    The primary colour is link text on white and the ground of white button text: it needs 4.5:1
    against white. The accent marks lines and highlights on the white page and on the dark footer:
    it needs 4.5:1 against at least one of them."""
    if colour_rgb(value) is None:
        return ""  # the pack's own validation names a malformed colour
    on_white = contrast_ratio(value, WHITE)
    if key == "primary_colour":
        if on_white < AA_RATIO:
            return f"{label} {value} 与白色的对比度仅 {on_white:.2f}:1，低于 WCAG AA 要求的 {AA_RATIO}:1，文字将看不清"
        return ""
    on_footer = contrast_ratio(value, FOOTER_BACKGROUND)
    if max(on_white, on_footer) < AA_RATIO:
        return (
            f"{label} {value} 与白色的对比度仅 {on_white:.2f}:1，与页脚（{FOOTER_BACKGROUND}）仅 {on_footer:.2f}:1，"
            f"均低于 WCAG AA 要求的 {AA_RATIO}:1"
        )
    return ""
