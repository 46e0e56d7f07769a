"""No ID or bank account number appears unmasked in any response body or log line the suite produced.

The numbers are every value the suite stored in an encrypted field (see tests/leaks.py); this
module runs after all others."""

from __future__ import annotations

import re

from tests import leaks

SHOWN_ONCE = re.compile(r'<p class="secret" data-secret-once>([^<]+)</p>')


def test_no_stored_number_appears_in_a_response_or_a_log_line() -> None:
    assert leaks.SECRETS, "the suite stored no ID or bank account number: the scan would prove nothing"
    assert leaks.BODIES, "no response was collected"
    found = []
    # A new credential is shown to its creator once, in its own marked place: there and only there,
    # and in one response only.
    shown: dict[str, int] = {}
    for _, body in leaks.BODIES:
        for secret in SHOWN_ONCE.findall(body.decode("utf-8", "replace")):
            shown[secret] = shown.get(secret, 0) + 1
    assert all(n == 1 for n in shown.values()), {s[:12]: n for s, n in shown.items() if n > 1}
    for path, body in leaks.BODIES:
        text = SHOWN_ONCE.sub("", body.decode("utf-8", "replace"))
        found += [(path, secret) for secret in leaks.SECRETS if secret in text]
    for line in leaks.LOG_LINES:
        found += [(line[:80], secret) for secret in leaks.SECRETS if secret in line]
    assert not found, f"unmasked numbers: {found[:10]}"


def test_the_scan_finds_a_planted_number() -> None:
    planted = "6222020200112233445"
    leaks.SECRETS.add(planted)
    try:
        hits = [p for p, body in [*leaks.BODIES, ("/planted", f"账号 {planted}".encode())] if planted.encode() in body]
        assert hits == ["/planted"]
    finally:
        leaks.SECRETS.discard(planted)
