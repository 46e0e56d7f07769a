"""Pages that print a missing value: 「None」, 「null」 or 「undefined」 where a value should be.

The live site hands every HTML page it serves to ``blanks_find``; what it finds is kept in ``FOUND`` and
``page_factory`` fails the test that loaded such a page. Text inside scripts and styles is not shown, so it is
not read; the values of inputs and their placeholders are.
"""

from __future__ import annotations

import re
import threading
from html.parser import HTMLParser

# Not part of a longer word in Latin letters ("nullable", "Nonetheless"); Chinese around it still counts: 「约None个」.
BLANK = re.compile(r"(?<![A-Za-z_])(None|null|undefined|NaN)(?![A-Za-z_])")
HIDDEN = {"script", "style", "template", "noscript"}
SHOWN_ATTRIBUTES = {"value", "placeholder", "title", "alt", "aria-label"}

FOUND: list[str] = []
_LOCK = threading.Lock()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.hits: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self.hidden += 1
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value and BLANK.search(value):
                self.hits.append(f'<{tag} {name}="{value[:80]}">')

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        for match in BLANK.finditer(data):
            start = max(match.start() - 30, 0)
            self.hits.append(" ".join(data[start : match.end() + 30].split()))


def blanks_in(html: str) -> list[str]:
    """The shown texts of ``html`` that print a missing value, with a little context each."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser.hits


def blanks_find(path: str, body: bytes) -> None:
    hits = blanks_in(body.decode("utf-8", errors="replace"))
    if hits:
        with _LOCK:
            FOUND.extend(f"{path}: {hit}" for hit in hits)
