"""Lockout per centre, per sign-in surface and per account, plus a ceiling per client across centres.

Through the real sign-in views on each centre's host (bidders' password page and API token, /staff/,
/issuer/) and the platform's /admin/ and /console/, with django-axes counting in the public schema of
a real PostgreSQL. The figure for the README: 0 cross-centre and 0 cross-surface lockouts.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from baohan.identity.lockout import LOCKED_MESSAGE
from baohan.identity.services.staff import staff_account_upsert
from baohan.issuerdesk.services import issuer_account_upsert
from tenants.db import connection
from tests.api import bidder_api, outbox_code, phone_make
from tests.money import in_centre

pytestmark = pytest.mark.django_db

PASSWORD = "Lockout-pass-2026"
WRONG = "wrong-pass-2026"
BIDDER_PASSWORD = "pw-123456"  # tests.api.bidder_api's
ISSUER_OF = {"benxi": "zijin", "paytest": "zijin", "xinjiang": "guoren", "xuancheng": "sample_insurer_a"}
# Where each sign-in surface exists: bidders' password sign-in only where the pack offers it.
CENTRES = {
    "bidder": ("benxi", "paytest"),
    "staff": ("benxi", "xinjiang", "xuancheng", "paytest"),
    "issuer": ("benxi", "xinjiang", "xuancheng", "paytest"),
}
PLATFORM = "localhost"

_serial = itertools.count(1)
_addresses = itertools.count(1)


def fresh_n() -> int:
    return 93_000_000 + next(_serial)


def address() -> str:
    n = next(_addresses)
    return f"203.0.{n // 250}.{n % 250 + 1}"


def client(host: str, addr: str) -> Client:
    return Client(HTTP_HOST=host, REMOTE_ADDR=addr)


def text(response: Any) -> str:
    return str(response.content.decode())


def locked(response: Any) -> bool:
    return response.status_code == 429 or LOCKED_MESSAGE in text(response)


# --- accounts -------------------------------------------------------------------------------------


def bidder_make(code: str, n: int) -> str:
    """A bidder with phone_make(n): the same n on two centres gives the same phone, two people."""
    _, operator = bidder_api(code, n=n)
    return str(operator.phone)


def staff_make(code: str, phone: str) -> None:
    in_centre(code, staff_account_upsert, phone=phone, password=PASSWORD, name="张审核")


def issuer_make(code: str, phone: str) -> None:
    in_centre(code, issuer_account_upsert, issuer_code=ISSUER_OF[code], phone=phone, password=PASSWORD, name="李核保")


def account_make(surface: str, code: str, n: int) -> str:
    """The account of ``surface`` on centre ``code`` signing in with phone_make(n)."""
    phone = phone_make(n)
    if surface == "bidder":
        assert bidder_make(code, n) == phone
    elif surface == "staff":
        staff_make(code, phone)
    else:
        issuer_make(code, phone)
    return phone


def platform_user_make(username: str) -> None:
    connection.set_schema_to_public()
    get_user_model().objects.create_user(username=username, password=PASSWORD, is_staff=True, is_superuser=True)


# --- sign-ins: True when signed in; the response is kept for the lock checks -------------------------


def bidder_web(c: Client, phone: str, password: str) -> Any:
    return c.post("/accounts/login/", {"login": phone, "password": password})


def bidder_token(c: Client, phone: str, password: str) -> Any:
    return c.post("/api/v1/auth/token", json.dumps({"phone": phone, "password": password}), "application/json")


def staff_in(c: Client, phone: str, password: str) -> Any:
    return c.post("/staff/login/", {"phone": phone, "password": password})


def issuer_in(c: Client, phone: str, password: str) -> Any:
    return c.post("/issuer/login/", {"phone": phone, "password": password})


def admin_in(c: Client, username: str, password: str) -> Any:
    return c.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})


def console_in(c: Client, username: str, password: str) -> Any:
    return c.post("/console/login/", {"username": username, "password": password})


def signed_in(response: Any) -> bool:
    if response.status_code == 200 and response.get("Content-Type", "").startswith("application/json"):
        return "token" in response.json()
    return response.status_code == 302 and "/login/" not in response["Location"]


def issuer_signed_in(c: Client, code: str, phone: str) -> bool:
    """Both steps of the issuer sign-in: the password, then the code texted to the phone."""
    response = issuer_in(c, phone, PASSWORD)
    if response.status_code != 302 or not response["Location"].startswith("/issuer/login/code/"):
        return False
    done = c.post(response["Location"], {"code": outbox_code(code, phone)})
    return bool(done.status_code == 302 and done["Location"] == "/issuer/")


SIGN_IN: dict[str, Callable[[Client, str, str], Any]] = {
    "bidder": bidder_web,
    "staff": staff_in,
    "issuer": issuer_in,
    "admin": admin_in,
    "console": console_in,
}


def right_sign_in(surface: str, c: Client, code: str, identity: str) -> bool:
    if surface == "issuer":
        return issuer_signed_in(c, code, identity)
    if surface == "bidder":
        return signed_in(bidder_web(c, identity, BIDDER_PASSWORD))
    return signed_in(SIGN_IN[surface](c, identity, PASSWORD))


def fail_five(surface: str, c: Client, identity: str) -> list[Any]:
    return [SIGN_IN[surface](c, identity, WRONG) for _ in range(settings.AXES_FAILURE_LIMIT)]


# --- the figure -------------------------------------------------------------------------------------


def test_failures_on_one_centre_never_lock_the_same_phone_on_another() -> None:
    """Every surface × locking centre: five wrong passwords on centre A for a phone that is an account
    on every centre → A's account is locked, every other centre's account with that phone signs in
    (from the attacker's own address, too)."""
    rounds = locked_on_a = cross_checks = 0
    cross_lockouts: list[tuple[str, str, str]] = []
    for surface, centres in CENTRES.items():
        for a in centres:
            n = fresh_n()
            phone = {account_make(surface, code, n) for code in centres}.pop()  # one phone, an account on each
            attacker = address()
            answers = fail_five(surface, client(f"{a}.localhost", attacker), phone)
            assert not any(signed_in(r) for r in answers)
            rounds += 1
            # A's own account is locked, whoever asks (the bidders' API shares the password page's count).
            victim = client(f"{a}.localhost", address())
            if surface == "bidder":
                response = bidder_token(victim, phone, BIDDER_PASSWORD)
            else:
                response = SIGN_IN[surface](victim, phone, PASSWORD)
            locked_on_a += locked(response)
            for b in centres:
                if b != a:
                    cross_checks += 1
                    if not right_sign_in(surface, client(f"{b}.localhost", attacker), b, phone):
                        cross_lockouts.append((surface, a, b))
    print(f"lockout figure: {len(cross_lockouts)} cross-centre lockouts over {cross_checks} checks, {rounds} rounds")
    assert rounds == 10
    assert locked_on_a == rounds
    assert cross_checks == 26
    assert cross_lockouts == []


def test_each_sign_in_surface_counts_its_own() -> None:
    """Five wrong passwords typed on one surface for the phone (or name) of another surface's account:
    that account still signs in on its own surface; /admin/ and /console/ count apart too."""
    code = "benxi"
    host = f"{code}.localhost"
    checks = lockouts = 0
    for failed_on, victim in itertools.permutations(("bidder", "staff", "issuer"), 2):
        phone = account_make(victim, code, fresh_n())
        attacker = address()
        answers = fail_five(failed_on, client(host, attacker), phone)
        assert not any(signed_in(r) for r in answers)
        checks += 1
        lockouts += not right_sign_in(victim, client(host, attacker), code, phone)
    # The platform: an admin's name locked on /admin/ signs in on /console/, and the other way round;
    # a centre's bidder phone locked on the centre leaves the platform account of that name alone.
    shared = bidder_make(code, fresh_n())
    for name in ("ops-lockout-1", "ops-lockout-2", shared):
        platform_user_make(name)
    for failed_on, victim, name in (("admin", "console", "ops-lockout-1"), ("console", "admin", "ops-lockout-2")):
        attacker = address()
        answers = fail_five(failed_on, client(PLATFORM, attacker), name)
        assert not any(signed_in(r) for r in answers)
        assert locked(SIGN_IN[failed_on](client(PLATFORM, address()), name, PASSWORD))
        checks += 1
        lockouts += not right_sign_in(victim, client(PLATFORM, attacker), "", name)
    attacker = address()
    fail_five("bidder", client(host, attacker), shared)
    assert locked(bidder_token(client(host, address()), shared, BIDDER_PASSWORD))
    for surface in ("admin", "console"):
        checks += 1
        lockouts += not right_sign_in(surface, client(PLATFORM, attacker), "", shared)
    print(f"lockout figure: {lockouts} cross-surface lockouts over {checks} checks")
    assert checks == 10
    assert lockouts == 0


def test_a_success_clears_the_account_count() -> None:
    """Four failures, a success, four failures: not locked (the count restarts at each success),
    by phone on the bidders' page and API, and on the staff sign-in."""
    code = "paytest"
    host = f"{code}.localhost"
    phone = bidder_make(code, fresh_n())
    c = client(host, address())
    for _ in range(4):
        assert not signed_in(bidder_web(c, phone, WRONG))
    assert signed_in(bidder_web(client(host, address()), phone, BIDDER_PASSWORD))
    for _ in range(4):
        assert not signed_in(bidder_token(c, phone, WRONG))
    assert signed_in(bidder_token(c, phone, BIDDER_PASSWORD))
    staff_phone = phone_make(fresh_n())
    staff_make(code, staff_phone)
    for _ in range(2):
        for _ in range(4):
            assert not signed_in(staff_in(c, staff_phone, WRONG))
        assert signed_in(staff_in(client(host, address()), staff_phone, PASSWORD))
    # Without the success in between, the fifth failure locks.
    for _ in range(5):
        staff_in(c, staff_phone, WRONG)
    assert locked(staff_in(client(host, address()), staff_phone, PASSWORD))


def test_one_client_trying_many_accounts_on_many_centres_is_stopped() -> None:
    """Failures from one address over every centre and surface, never five on one account, reach the
    client ceiling: that address is then locked out of every sign-in, its own success along the way
    cleared nothing of its count, and another address signs in as before."""
    limit = settings.BAOHAN_LOCKOUT_CLIENT_LIMIT
    assert limit >= 20  # room for offices behind one address
    victim_phone = phone_make(fresh_n())
    staff_make("xuancheng", victim_phone)
    own_phone = phone_make(fresh_n())
    staff_make("xinjiang", own_phone)
    places: list[tuple[str, str]] = [
        *((f"{code}.localhost", surface) for surface in ("staff", "issuer") for code in CENTRES[surface]),
        *((f"{code}.localhost", "token") for code in CENTRES["bidder"]),
        (PLATFORM, "admin"),
        (PLATFORM, "console"),
    ]
    attacker = "198.51.100.7"
    ask: dict[str, Callable[[Client, str, str], Any]] = {**SIGN_IN, "token": bidder_token}

    def count() -> int:
        connection.set_schema_to_public()
        return sum(AccessAttempt.objects.filter(ip_address=attacker).values_list("failures_since_start", flat=True))

    sent = 0
    for host, surface in itertools.cycle(places):
        if sent >= limit - 1:
            break
        identity = phone_make(fresh_n()) if surface != "admin" else f"nobody{fresh_n()}"
        for _ in range(min(4, limit - 1 - sent)):
            response = ask[surface](client(host, attacker), identity, WRONG)
            assert not locked(response), (host, surface, sent)
            sent += 1
    assert count() == limit - 1
    connection.set_schema_to_public()
    usernames = AccessAttempt.objects.filter(ip_address=attacker).values_list("username", flat=True)
    assert {u.rsplit("@", 1)[1].split(":")[0] for u in usernames} == {
        "benxi",
        "xinjiang",
        "xuancheng",
        "paytest",
        "public",
    }
    # One below the ceiling: the client's own account signs in, and that clears nothing of the count.
    assert signed_in(staff_in(client("xinjiang.localhost", attacker), own_phone, PASSWORD))
    assert count() == limit - 1
    # The failure that reaches the ceiling is answered as locked, and so is every sign-in after it.
    assert locked(staff_in(client("benxi.localhost", attacker), phone_make(fresh_n()), WRONG))
    assert locked(staff_in(client("xuancheng.localhost", attacker), victim_phone, PASSWORD))
    assert locked(bidder_token(client("paytest.localhost", attacker), phone_make(fresh_n()), WRONG))
    assert locked(staff_in(client("xinjiang.localhost", attacker), own_phone, PASSWORD))
    # Another client is not concerned, and the accounts tried are not locked for it.
    assert signed_in(staff_in(client("xuancheng.localhost", address()), victim_phone, PASSWORD))


def test_the_lock_is_told_in_the_centres_words() -> None:
    phone = bidder_make("benxi", fresh_n())
    host = "benxi.localhost"
    answers = fail_five("bidder", client(host, address()), phone)
    page = answers[-1]
    assert page.status_code == 429
    assert LOCKED_MESSAGE in text(page)
    assert "本溪" in text(page)  # the centre's own page, not axes' bare text
    response = bidder_token(client(host, address()), phone, BIDDER_PASSWORD)
    assert (response.status_code, response.json()["code"]) == (429, "locked")
    assert response.json()["message"] == LOCKED_MESSAGE


def test_a_name_longer_than_the_key_column_is_counted_not_refused() -> None:
    """A 300-character name still counts (as its digest) and locks; nothing answers 500."""
    name = "long-name-" * 30  # no run of one letter: other tests store such strings as secrets
    c = client(PLATFORM, address())
    statuses = [r.status_code for r in fail_five("admin", c, name)]
    assert statuses == [200] * 4 + [429]
    connection.set_schema_to_public()
    assert AccessAttempt.objects.get().username.startswith("sha256:")


# --- who one client is, and one account however its phone is typed ----------------------------------------


def staff_failures_from(host: str, addresses: Callable[[int], str], count: int) -> None:
    """``count`` wrong staff passwords, each for a phone nobody has and from ``addresses(i)``: never
    two on one account, so only the client's ceiling can lock."""
    for i in range(count):
        response = staff_in(client(host, addresses(i)), phone_make(fresh_n()), WRONG)
        assert not locked(response), (i, addresses(i))


def client_count(key: str) -> int:
    connection.set_schema_to_public()
    return sum(AccessAttempt.objects.filter(ip_address=key).values_list("failures_since_start", flat=True))


def test_addresses_of_one_ipv6_64_are_one_client() -> None:
    """A client rotating through its own IPv6 /64, a new address and a new account for each failure,
    reaches the ceiling as one address would; the neighbouring /64 is another client."""
    limit = settings.BAOHAN_LOCKOUT_CLIENT_LIMIT
    host = "benxi.localhost"
    victim_phone = phone_make(fresh_n())
    staff_make("benxi", victim_phone)
    staff_failures_from(host, lambda i: f"2001:db8:7:1:{i + 1:x}:{i * 7919 % 0x10000:x}::{i + 2:x}", limit - 1)
    assert client_count("2001:db8:7:1::") == limit - 1
    # The failure that reaches the ceiling, from an address of the /64 not used yet, is answered as
    # locked, and so is the right password from any other address of it.
    assert locked(staff_in(client(host, "2001:db8:7:1:ffff:ffff:ffff:fffe"), phone_make(fresh_n()), WRONG))
    assert locked(staff_in(client(host, "2001:db8:7:1::abcd"), victim_phone, PASSWORD))
    # The next /64 is not concerned.
    assert signed_in(staff_in(client(host, "2001:db8:7:2::1"), victim_phone, PASSWORD))
    # An operator unlocks the network by its first address, as axes stores it.
    call_command("axes_reset_ip", "2001:db8:7:1::", stdout=io.StringIO())
    assert client_count("2001:db8:7:1::") == 0
    assert signed_in(staff_in(client(host, "2001:db8:7:1::abcd"), victim_phone, PASSWORD))


def test_an_ipv4_mapped_address_counts_as_its_ipv4_address() -> None:
    """Failures alternately from ``::ffff:a.b.c.d`` and ``a.b.c.d`` count as one client's, stored
    under the IPv4 address, and the ceiling locks both spellings; the neighbouring address signs in."""
    limit = settings.BAOHAN_LOCKOUT_CLIENT_LIMIT
    host = "xinjiang.localhost"
    plain, mapped = "192.0.2.77", "::ffff:192.0.2.77"
    victim_phone = phone_make(fresh_n())
    staff_make("xinjiang", victim_phone)
    staff_failures_from(host, lambda i: mapped if i % 2 == 0 else plain, limit - 1)
    assert client_count(plain) == limit - 1
    assert locked(staff_in(client(host, plain), phone_make(fresh_n()), WRONG))
    assert locked(staff_in(client(host, mapped), victim_phone, PASSWORD))
    assert locked(staff_in(client(host, plain), victim_phone, PASSWORD))
    assert signed_in(staff_in(client(host, "192.0.2.78"), victim_phone, PASSWORD))


def test_a_phone_counts_as_one_account_however_it_is_typed() -> None:
    """The bidders' API token with the phone typed with spaces, +86, 0086 and hyphens: it signs in as the
    account, and wrong passwords in every spelling count toward that one account's lock, which then
    refuses the right password in every spelling, on the password page too."""
    code = "benxi"
    host = f"{code}.localhost"
    phone = bidder_make(code, fresh_n())
    spaced = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    spellings = [spaced, f"+86 {spaced}", f"+86{phone}", f"0086-{phone[:3]}-{phone[3:7]}-{phone[7:]}"]
    for typed in spellings:
        assert signed_in(bidder_token(client(host, address()), typed, BIDDER_PASSWORD)), typed
    c = client(host, address())
    for typed in spellings:  # four failures, one per spelling: not locked yet
        assert not locked(bidder_token(c, typed, WRONG)), typed
    connection.set_schema_to_public()
    keys = AccessAttempt.objects.values_list("username", "failures_since_start")
    assert list(keys) == [(f"{phone}@{code}:bidder", 4)]
    assert locked(bidder_token(c, phone, WRONG))  # the fifth, typed plainly, locks
    for typed in [*spellings, phone]:
        assert locked(bidder_token(client(host, address()), typed, BIDDER_PASSWORD)), typed
    assert locked(bidder_web(client(host, address()), phone, BIDDER_PASSWORD))
