"""Seconds to reconcile a bank statement: N lines matched against N orders with the engine's own code.

Runs against a throw-away embedded PostgreSQL cluster (or an empty database at DATABASE_URL),
in one centre onboarded from ``regions/xinjiang.yaml``. Setup writes ~1,000 enterprises, the
sections and the orders (``awaiting_payment``) by COPY. Xinjiang sells bid guarantees only
and an enterprise has one live order per section and deposit kind, so there are at least
50 sections and enough of them for every order (105 for 100,000); a few are past their
deadline (the late payments go to those). Then a
statement of the guoren receiving account is generated with a realistic mix (~90% correct
payments, ~3% from a wrong payer account, ~2% short, ~1% overpaid, ~1% late, ~2% paid twice,
~1% without a remark code), rendered as the ``bank_csv`` export and timed step by step:
parse, store, match (the headline: ``statement_lines_match``), re-import (adds nothing) and
match again (settles nothing). Outcomes are checked against what the mix must produce, and
every order must pass the ledger check.

Celery: without a broker the settings run tasks eagerly. Storing lines queues a matching
task on commit, and settlement queues notification tasks on commit; run inline they would
match before the timed match step and send notifications inside it. The benchmark points
Celery at an in-memory broker instead, so ``.delay()`` only publishes a message: the
notifications are measured elsewhere; this measures reconciliation.

Usage: ``python bench/reconcile.py [--lines 100000] [--orders N] [--keep] [--profile]``.
``--profile`` times every SQL statement, COPY and commit inside the match step and samples
the Python stack to place the rest on engine lines.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import math
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

ENTERPRISES = 1000
SEED = 20261121
PERSON_NAMES = ["王芳", "李伟", "张敏", "刘洋", "陈静", "杨磊", "赵军", "黄丽", "周涛", "吴霞"]
MIX = {  # fractions of the lines; "correct" takes the rest
    "wrong_account": 0.03,
    "short": 0.02,
    "overpaid": 0.01,
    "late": 0.01,
    "duplicate": 0.02,
    "no_remark": 0.01,
}


@dataclass
class Timing:
    step: str
    seconds: float
    rows: int


@dataclass(frozen=True)
class OrderRow:
    id: int
    remark_code: str
    payable: Decimal
    deadline: datetime
    project_type: str
    enterprise: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=0, help="orders awaiting payment (default: --lines)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--cprofile", metavar="FILE", help="write a cProfile of the match step to FILE")
    parser.add_argument("--workers", type=int, default=0, help="matching threads (default: the engine's own choice)")
    parser.add_argument("--profile", action="store_true", help="time each SQL statement, COPY and commit of the match")
    args = parser.parse_args()
    args.orders = args.orders or args.lines
    needed = args.lines - round(args.lines * MIX["duplicate"])
    if args.orders < needed:
        parser.error(f"--orders must be at least {needed} (every line but the duplicates pays its own order)")

    if not os.environ.get("DATABASE_URL"):
        folder = tempfile.mkdtemp(prefix="baohan-bench-")
        os.environ["BAOHAN_DATA_DIR"] = folder
        if args.keep:
            print(f"data folder kept: {folder}")
        else:
            # Registered before the server starts: exit hooks run last-in first-out, so the
            # embedded server's own hook stops it before the folder goes.
            atexit.register(shutil.rmtree, folder, True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "baohan.settings.base"
    from baohan.embedded import database_url_ensure

    database_url_ensure(database="baohan_bench")
    import django

    django.setup()
    from baohan.celery import app

    app.conf.update(task_always_eager=False, broker_url="memory://localhost/")

    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from tenants.models import Tenant
    from tenants.services import tenant_onboard_file

    call_command("migrate", interactive=False, verbosity=0)
    if Tenant.objects.filter(code="xinjiang").exists():
        raise SystemExit("centre xinjiang exists in this database already (the counts would not add up)")
    tenant_onboard_file(path=ROOT / "regions" / "xinjiang.yaml", domains=["bench.localhost"])
    tenant = Tenant.objects.get(code="xinjiang")
    with tenant_context(tenant):
        run(args)
    connection.close()


def run(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.db import connection

    from baohan.guarantees.states import Actor
    from baohan.payments.services.intake import (
        layout_of,
        receiving_account_of,
        statement_lines_match,
        statement_lines_store,
    )
    from baohan.payments.statements import statement_parse, statement_render
    from tenants.selectors import pack_in_force

    pack, version = pack_in_force()
    issuer = next(i for i in pack.issuers if i.receiving_account is not None)
    issuer, account_number = receiving_account_of(pack=pack, issuer_code=issuer.code)
    layout = layout_of(pack=pack, issuer=issuer)
    assert issuer.receiving_account is not None
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SELECT current_setting('shared_buffers'), current_setting('max_wal_size')")
        buffers, wal = cursor.fetchone()
    print(
        f"centre xinjiang (pack v{version}), issuer {issuer.code}, layout {layout.code}; PostgreSQL {server} "
        f"(shared_buffers {buffers}, max_wal_size {wal}); DEBUG={settings.DEBUG}; {os.cpu_count()} cores"
    )
    timings: list[Timing] = []
    rng = random.Random(SEED)  # noqa: S311 - reproducible data, not secrets

    start = time.perf_counter()
    orders, enterprises = setup(args.orders, issuer=issuer, version=version, rng=rng)
    timings.append(Timing("setup: enterprises, sections, orders", time.perf_counter() - start, len(orders)))

    start = time.perf_counter()
    lines, expected = lines_make(args.lines, orders=orders, enterprises=enterprises, rng=rng)
    content = statement_render(
        layout=layout,
        lines=lines,
        account_number=account_number,
        account_name=issuer.receiving_account.account_name,
    )
    timings.append(Timing("generate + render CSV", time.perf_counter() - start, len(lines)))
    n_orders, n_lines = len(orders), len(lines)
    print(f"statement: {n_lines:,} lines, {len(content) / 1e6:.1f} MB; orders: {n_orders:,}")

    start = time.perf_counter()
    parsed = statement_parse(content=content, layout=layout)
    timings.append(Timing("parse (statement_parse)", time.perf_counter() - start, len(parsed)))
    check(len(parsed) == len(lines), f"parsed {len(parsed)} lines of {len(lines)}")

    actor = Actor.system("对账基准")

    def store(lines_in: Any) -> Any:
        return statement_lines_store(
            issuer_code=issuer.code,
            account_number=account_number,
            lines=lines_in,
            source="command",
            filename="bench.csv",
            layout=layout.code,
            actor=actor,
        )

    start = time.perf_counter()
    stored = store(parsed)
    timings.append(Timing("store (statement_lines_store)", time.perf_counter() - start, stored.lines_new))
    check(stored.lines_new == n_lines, f"stored {stored.lines_new} lines of {n_lines}")
    # What the benchmark itself holds is not the engine's: a worker matching lines has none of it
    # (and the collector would scan it on every full collection during the match).
    del orders, enterprises, lines, parsed
    gc.collect()

    cpu_before = cpu_seconds()
    with profiled(args.profile) as report:
        start = time.perf_counter()
        options: dict[str, Any] = {"actor": actor, **({"workers": args.workers} if args.workers else {})}
        if args.cprofile:
            import cProfile

            with cProfile.Profile() as cprofile:
                matched = statement_lines_match(**options)
            cprofile.dump_stats(args.cprofile)
        else:
            matched = statement_lines_match(**options)
        headline = time.perf_counter() - start
    cpu = [after - before for after, before in zip(cpu_seconds(), cpu_before, strict=True)]
    timings.append(Timing("MATCH (statement_lines_match)", headline, n_lines))

    start = time.perf_counter()
    again = store(statement_parse(content=content, layout=layout))
    timings.append(Timing("re-import same file (parse + store)", time.perf_counter() - start, again.lines_total))
    check(again.lines_new == 0, f"re-import stored {again.lines_new} line(s) again")

    start = time.perf_counter()
    second = statement_lines_match(actor=actor)
    timings.append(Timing("match again", time.perf_counter() - start, 0))
    check(not second.payments and not second.outcomes, f"second match settled {second.outcomes}")

    verify(expected=expected, matched=matched.outcomes, orders=n_orders)

    print()
    print(f"{'step':<40}{'seconds':>10}{'rows/s':>12}")
    for t in timings:
        rate = f"{t.rows / t.seconds:,.0f}" if t.rows and t.seconds else "-"
        print(f"{t.step:<40}{t.seconds:>10.2f}{rate:>12}")
    print(
        f"CPU used by the match: {cpu[1]:.2f} s on the machine ({os.cpu_count()} cores), "
        f"{cpu[0]:.2f} s of it in this process (all threads), the rest mostly PostgreSQL"
    )
    verdict = "under" if headline < 10 else "OVER"
    print(f"headline: matching {n_lines:,} lines took {headline:.2f} s ({verdict} the 10 s target)")
    if report:
        print()
        print(report(headline))


def cpu_seconds() -> tuple[float, float]:
    """CPU time (user + system) of this process and of the whole machine (PostgreSQL's backends
    come and go with the matching threads' connections, so the machine's total stands for them)."""
    import psutil

    own = psutil.Process().cpu_times()
    machine = psutil.cpu_times()
    return own.user + own.system, machine.user + machine.system + getattr(machine, "nice", 0.0)


def check(condition: bool, problem: str) -> None:
    if not condition:
        raise SystemExit(f"CHECK FAILED: {problem}")


# --- setup ---------------------------------------------------------------------------------


def setup(count: int, *, issuer: Any, version: int, rng: random.Random) -> tuple[list[OrderRow], list[Any]]:
    """One user, ~1,000 enterprises, the sections and ``count`` orders awaiting payment (by COPY)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from baohan.guarantees.models import Enterprise
    from baohan.guarantees.quotes import quote_for_issuer
    from baohan.guarantees.services.orders import REMARK_ALPHABET, account_digest, number_make
    from baohan.payments.db import ids_take, rows_copy
    from baohan.rulepacks.models import OrderState
    from baohan.sections.models import Section

    now = timezone.now().replace(microsecond=0)
    n_enterprises = min(ENTERPRISES, count)
    # One live order per enterprise, section and deposit kind (Xinjiang sells bid guarantees
    # only): enough sections that every order has its own pair.
    n_sections = max(50, math.ceil(count / n_enterprises * 1.05))
    n_past = max(2, n_sections // 20)
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=f"bench{rng.randrange(10**9)}")
        enterprises = Enterprise.objects.bulk_create(
            [
                Enterprise(
                    name=f"新疆基准建设工程有限公司第{i:04d}分公司",
                    uscc=f"91650100MA{i:07d}X",
                    basic_account_name=f"新疆基准建设工程有限公司第{i:04d}分公司",
                    basic_bank_name="中国建设银行乌鲁木齐分行",
                    basic_account_number=f"6517{i:015d}",
                    verification=Enterprise.Verification.VERIFIED,
                    source="bench",
                )
                for i in range(n_enterprises)
            ]
        )
        sections = []
        for i in range(n_sections):
            past = i < n_past
            deadline = now - timedelta(days=10) if past else now + timedelta(days=7 + i % 20)
            sections.append(
                Section(
                    code=f"XJBENCH-{i:05d}",
                    name=f"基准标段 {i}",
                    project_code=f"XJP-{i // 3:05d}",
                    project_name=f"基准项目 {i // 3}",
                    project_type="government_procurement" if i % 5 == 4 else "construction",
                    location="乌鲁木齐市",
                    deposit_amount=Decimal(rng.randrange(20, 800) * 10_000),
                    deposit_deadline=deadline,
                    opening_time=deadline + timedelta(days=1),
                    bid_validity_days=90,
                )
            )
        sections = Section.objects.bulk_create(sections)
        quotes = {s.pk: quote_for_issuer(insured_amount=s.deposit_amount, issuer=issuer) for s in sections}
        digests = {e.pk: account_digest(e.basic_account_number) for e in enterprises}

        pairs = rng.sample(range(n_sections * n_enterprises), count)
        codes: set[str] = set()
        while len(codes) < count:
            codes.add("".join(rng.choices(REMARK_ALPHABET, k=8)))
        ids = ids_take("guarantees_order", count)
        orders: list[OrderRow] = []
        rows = []
        for ident, pair, code in zip(ids, pairs, sorted(codes, key=lambda _: rng.random()), strict=True):
            section = sections[pair // n_enterprises]
            enterprise = enterprises[pair % n_enterprises]
            quote = quotes[section.pk]
            orders.append(
                OrderRow(
                    ident, code, quote.premium, section.deposit_deadline, section.project_type, pair % n_enterprises
                )
            )
            rows.append(
                [
                    ident,
                    number_make(prefix="", ident=ident, when=now),
                    section.pk,
                    enterprise.pk,
                    user.pk,
                    "bid",
                    issuer.kind.value,
                    "single_pick",
                    issuer.code,
                    OrderState.AWAITING_PAYMENT.value,
                    {"deposit_amount": str(section.deposit_amount), "project_type": section.project_type},
                    {"deposit_amount": "保证金金额", "project_type": "项目类型"},
                    "",
                    section.deposit_amount,
                    quote.rate,
                    quote.premium,
                    quote.premium,
                    code,
                    "基准经办人",
                    f"139{enterprise.pk % 10**8:08d}",
                    "",
                    version,
                    now - timedelta(days=3),
                    now - timedelta(days=3),
                    now - timedelta(days=3),
                    "",
                    enterprise.basic_account_name,
                    digests[enterprise.pk],
                ]
            )
        columns = [
            "id",
            "number",
            "section_id",
            "enterprise_id",
            "created_by_id",
            "deposit_kind",
            "issuer_kind",
            "choice_mode",
            "issuer_code",
            "state",
            "form_data",
            "form_labels",
            "form_private",
            "insured_amount",
            "rate",
            "premium",
            "payable_amount",
            "remark_code",
            "operator_name",
            "operator_phone",
            "operator_email",
            "rule_pack_version",
            "created_at",
            "updated_at",
            "submitted_at",
            "payment_reference",
            "payer_account_name",
            "payer_account_digest",
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT column_name FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = 'guarantees_order'
                      AND is_nullable = 'NO' AND column_default IS NULL AND NOT column_name = ANY(%s)""",
                [columns],
            )
            missing = [row[0] for row in cursor.fetchall()]
        if missing:
            raise SystemExit(f"guarantees_order has NOT NULL columns this benchmark does not fill: {missing}")
        rows_copy("guarantees_order", columns, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    past = sum(1 for o in orders if o.deadline < now)
    print(
        f"setup: {len(enterprises):,} enterprises, {len(sections)} sections ({n_past} past the deadline, "
        f"{sum(s.project_type != 'construction' for s in sections)} government procurement), "
        f"{len(orders):,} orders ({past:,} past the deadline)"
    )
    return orders, enterprises


# --- the statement -------------------------------------------------------------------------


def lines_make(
    count: int, *, orders: list[OrderRow], enterprises: list[Any], rng: random.Random
) -> tuple[list[Any], dict[str, int]]:
    """``count`` statement lines in the mix, sorted by booking time, and the outcomes they must produce."""
    from django.utils import timezone

    from baohan.payments.statements import StatementLine

    now = timezone.now().replace(microsecond=0)
    sizes = {kind: round(count * share) for kind, share in MIX.items()}
    sizes["correct"] = count - sum(sizes.values())
    pool = orders[:]
    rng.shuffle(pool)
    past = [o for o in pool if o.deadline < now]
    if len(past) < sizes["late"]:
        raise SystemExit(f"need {sizes['late']} orders past their deadline for late lines, have {len(past)}")
    taken: set[int] = set()

    def pick(n: int, fits: Callable[[OrderRow], bool]) -> list[OrderRow]:
        chosen = []
        for o in pool:
            if len(chosen) == n:
                break
            if o.id not in taken and fits(o):
                chosen.append(o)
                taken.add(o.id)
        if len(chosen) < n:
            raise SystemExit(f"not enough orders for the mix ({len(chosen)} of {n})")
        return chosen

    by_kind = {
        "late": pick(sizes["late"], lambda o: o.deadline < now),
        "wrong_account": pick(sizes["wrong_account"], lambda o: o.project_type == "construction"),
    }
    for kind in ("short", "overpaid", "no_remark", "correct"):
        by_kind[kind] = pick(sizes[kind], lambda o: True)
    # Paid twice: a second transfer for orders paid correctly earlier in the same file
    # (from the basic account, so the order is paid whatever its project type).
    twice = by_kind["correct"][: sizes["duplicate"]]
    twice_ids = {o.id for o in twice}

    serial = iter(range(1, 10**9))
    lines = []

    def on_time(o: OrderRow) -> datetime:
        return min(now, o.deadline) - timedelta(seconds=rng.randrange(2 * 3600, 72 * 3600))

    def remark(code: str) -> str:
        return rng.choice(
            [
                f"保费 {code} 投标",
                code,
                f"投标保证金保险费{code}",
                f"附言{code.lower()}",
                f"{code} 电子保函保费",
            ]
        )

    def line(o: OrderRow, *, booked: datetime, amount: Decimal, basic: bool = True, text: str = "", **kw: str) -> Any:
        e = enterprises[o.enterprise]
        person = rng.choice(PERSON_NAMES)
        values = {
            "payer_name": e.basic_account_name if basic else person,
            "payer_account": e.basic_account_number if basic else f"6222{rng.randrange(10**14, 10**15)}",
            "payer_bank": e.basic_bank_name if basic else "中国农业银行乌鲁木齐分行",
            **kw,
        }
        return StatementLine(
            row=0,
            reference=f"{booked:%Y%m%d}{next(serial):010d}",
            booked_at=booked,
            amount=amount,
            remark=text or remark(o.remark_code),
            raw={},
            **values,
        )

    firsts: dict[int, datetime] = {}
    for o in by_kind["correct"]:
        # Government procurement may be paid from any account: some bidders pay personally.
        personal = o.project_type != "construction" and o.id not in twice_ids and rng.random() < 0.3
        booked = on_time(o)
        firsts[o.id] = booked
        lines.append(line(o, booked=booked, amount=o.payable, basic=not personal))
    for o in twice:
        booked = min(firsts[o.id] + timedelta(seconds=rng.randrange(60, 3600)), o.deadline, now)
        lines.append(line(o, booked=booked, amount=o.payable))
    for o in by_kind["wrong_account"]:  # the enterprise's general account (一般户), not the basic one
        lines.append(line(o, booked=on_time(o), amount=o.payable, payer_account=f"6523{rng.randrange(10**14, 10**15)}"))
    for o in by_kind["short"]:
        short = Decimal(rng.randrange(1, min(5000, int(o.payable * 100)))) / 100
        lines.append(line(o, booked=on_time(o), amount=o.payable - short))
    for o in by_kind["overpaid"]:
        lines.append(line(o, booked=on_time(o), amount=o.payable + Decimal(rng.randrange(1, 200_00)) / 100))
    for o in by_kind["late"]:
        late = rng.randrange(60, int((now - o.deadline).total_seconds()))
        lines.append(line(o, booked=o.deadline + timedelta(seconds=late), amount=o.payable))
    for o in by_kind["no_remark"]:  # a personal transfer without the order's remark code
        lines.append(line(o, booked=on_time(o), amount=o.payable, basic=False, text=rng.choice(["保费", "投标保证金"])))
    lines.sort(key=lambda x: (x.booked_at, x.reference))

    refused = sizes["wrong_account"] + sizes["short"] + sizes["late"]
    expected = {
        "applied": sizes["correct"],
        "overpaid": sizes["overpaid"],
        "refused": refused,
        "duplicate": sizes["duplicate"],
        "unmatched": sizes["no_remark"],
        "paid_orders": sizes["correct"] + sizes["overpaid"],
        "cancelled_orders": refused,
    }
    print("mix: " + ", ".join(f"{kind} {n:,}" for kind, n in sizes.items()))
    return lines, expected


# --- checks --------------------------------------------------------------------------------


def verify(*, expected: dict[str, int], matched: dict[str, int], orders: int) -> None:
    from django.db import connection
    from django.db.models import Count

    from baohan.guarantees.models import Order
    from baohan.payments.models import LedgerEntry, OpenLine, Payment, Payout, StatementLine
    from baohan.payments.selectors import ledger_problems

    def counts(model: Any, column: str) -> dict[str, int]:
        return {row[column]: row["n"] for row in model.objects.values(column).annotate(n=Count("id")).order_by(column)}

    outcomes = counts(Payment, "outcome")
    statuses = counts(StatementLine, "status")
    states = counts(Order, "state")
    payouts = counts(Payout, "kind")
    unbalanced = len(ledger_problems())
    open_lines = OpenLine.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason_code, count(*) FROM payments_payment GROUP BY 1 ORDER BY 2 DESC")
        reasons = dict(cursor.fetchall())
    print()
    print(f"payment outcomes:   {outcomes}")
    print(f"reason codes:       { {k: v for k, v in reasons.items() if k} }")
    print(f"statement lines:    {statuses}")
    print(f"orders by state:    {states}")
    print(f"payouts by kind:    {payouts}")
    print(f"ledger: {LedgerEntry.objects.count():,} movements, {unbalanced} order(s) failing the ledger check")

    problems = []
    for outcome in ("applied", "overpaid", "refused", "duplicate"):
        if outcomes.get(outcome, 0) != expected[outcome] or matched.get(outcome, 0) != expected[outcome]:
            problems.append(f"{outcome}: stored {outcomes.get(outcome, 0)}, returned {matched.get(outcome, 0)}")
    if statuses.get("unmatched", 0) != expected["unmatched"] or statuses.get("new", 0):
        problems.append(f"lines: {statuses}, expected {expected['unmatched']} unmatched and none new")
    if open_lines != expected["unmatched"]:
        problems.append(f"open lines: {open_lines}, expected the {expected['unmatched']} unmatched")
    if states.get("awaiting_issue", 0) != expected["paid_orders"]:
        problems.append(f"paid orders: {states.get('awaiting_issue', 0)}, expected {expected['paid_orders']}")
    if states.get("cancelled", 0) != expected["cancelled_orders"]:
        problems.append(f"cancelled orders: {states.get('cancelled', 0)}, expected {expected['cancelled_orders']}")
    if sum(states.values()) != orders:
        problems.append(f"orders: {sum(states.values())}, expected {orders}")
    if unbalanced:
        problems.append(f"{unbalanced} order(s) failing the ledger check")
    if problems:
        raise SystemExit("CHECK FAILED:\n  " + "\n  ".join(problems))
    print("checks: outcomes as the mix requires, ledger check passed")


# --- profiling -----------------------------------------------------------------------------


@contextmanager
def profiled(enabled: bool) -> Iterator[Callable[[float], str] | None]:
    """Time each SQL statement (rows_update and ids_take included), each COPY and the commit,
    and sample the Python stack every few milliseconds to place the rest on engine lines."""
    if not enabled:
        yield None
        return
    from django.db import connection

    from baohan.payments import db
    from baohan.payments.services import intake, settlement

    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def note(label: str, seconds: float) -> None:
        spent[label][0] += 1
        spent[label][1] += seconds

    def sql_timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            note("SQL " + re.sub(r"\s+", " ", sql).strip()[:110], time.perf_counter() - start)

    copy_rows = db.rows_copy

    def timed_copy(table: str, columns: Any, rows: Any, **options: Any) -> int:
        start = time.perf_counter()
        try:
            return copy_rows(table, columns, rows, **options)
        finally:
            note(f"COPY {table} (incl. building its rows in Python)", time.perf_counter() - start)

    bulk = db.bulk_cursor

    class TimedCursor:
        """The engine's server-binding cursor, each statement timed (fetching included)."""

        def __init__(self, raw: Any) -> None:
            self.raw = raw

        def __getattr__(self, name: str) -> Any:
            return getattr(self.raw, name)

        def execute(self, sql: str, params: Any = None) -> Any:
            start = time.perf_counter()
            try:
                return self.raw.execute(sql, params)
            finally:
                note("SQL " + re.sub(r"\s+", " ", sql).strip()[:110], time.perf_counter() - start)

    @contextmanager
    def timed_bulk() -> Iterator[Any]:
        with bulk() as raw:
            yield TimedCursor(raw)

    saved = [(module, name, getattr(module, name)) for module in (intake, settlement) for name in ("rows_copy",)]
    saved += [(module, "bulk_cursor", bulk) for module in (db, intake, settlement)]
    for module, name, _ in saved:
        setattr(module, name, timed_copy if name == "rows_copy" else timed_bulk)
    commit = connection.commit

    def timed_commit() -> None:
        start = time.perf_counter()
        try:
            commit()
        finally:
            note("COMMIT (deferred FK checks, WAL flush)", time.perf_counter() - start)

    connection.commit = timed_commit  # type: ignore[method-assign]
    collector = _Collector()
    wal_before = _wal()
    sampler = _Sampler(threading.get_ident())
    try:
        with connection.execute_wrapper(sql_timer), sampler, collector:
            yield lambda total: _report(spent, sampler, collector, wal_before, total)
    finally:
        for module, name, original in saved:
            setattr(module, name, original)
        del connection.commit


class _Sampler(threading.Thread):
    """Every 2 ms, the engine line the main thread is on (the innermost frame under platform/),
    and whether it is inside psycopg at that moment (waiting for the server, or converting)."""

    def __init__(self, target: int) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.samples: Counter[tuple[str, bool]] = Counter()  # seconds: each sample weighs the time since the last
        self.done = threading.Event()

    def __enter__(self) -> _Sampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join()

    def run(self) -> None:
        engine = str(ROOT / "platform")
        last = time.perf_counter()
        while not self.done.wait(0.002):
            frame = sys._current_frames().get(self.target)
            in_driver = False
            where = "?"
            first = True
            while frame is not None:
                name = frame.f_code.co_filename
                if first:
                    in_driver = "psycopg" in name
                    first = False
                if name.startswith(engine):
                    where = f"{os.path.relpath(name, engine)}:{frame.f_lineno} {frame.f_code.co_name}"
                    break
                frame = frame.f_back
            # The sampler gets the GIL late while the main thread runs Python (up to the switch
            # interval) and at once while it waits for the server: weigh by elapsed time.
            now = time.perf_counter()
            self.samples[(where, in_driver)] += now - last
            last = now


class _Collector:
    """Time spent in Python's garbage collector, by generation."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.runs = [0, 0, 0]
        self._start = 0.0

    def __enter__(self) -> _Collector:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.runs[info["generation"]] += 1


def _wal() -> tuple[int, int, int] | None:
    """WAL written by the whole cluster so far (records, full-page images, bytes), if the server tells."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal")
            row = cursor.fetchone()
    except Exception:  # noqa: BLE001 - older servers have no pg_stat_wal; the numbers are optional
        return None
    return int(row[0]), int(row[1]), int(row[2])


def _report(
    spent: dict[str, list[float]],
    sampler: _Sampler,
    collector: _Collector,
    wal_before: tuple[int, int, int] | None,
    total: float,
) -> str:
    out = [f"profile of the match step ({total:.2f} s), by statement:"]
    for label, (calls, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1]):
        if seconds >= 0.005:
            out.append(f"  {seconds:8.3f} s {calls:>4}x  {label}")
    rest = total - sum(seconds for _, seconds in spent.values())
    out.append(f"  {rest:8.3f} s        Python outside these (fetching, decisions, building arrays and receipts)")
    runs = "/".join(str(n) for n in collector.runs)
    out.append(f"garbage collector: {collector.seconds:.3f} s in {runs} collections of generation 0/1/2")
    wal_after = _wal()
    if wal_before and wal_after:
        records, images, size = (after - before for after, before in zip(wal_after, wal_before, strict=True))
        out.append(f"WAL written: {size / 1e6:,.0f} MB, {records:,} records ({images:,} full-page images)")
    sampled = sum(sampler.samples.values())
    if sampled:
        waiting = sum(seconds for (_, in_driver), seconds in sampler.samples.items() if in_driver)
        other = sampled - waiting
        out.append(f"sampled: {waiting:.2f} s inside psycopg (server work, transfer, conversion), {other:.2f} s other")
        out.append("sampled stack (every 2 ms), by engine line; [in psycopg]: waiting for the server or converting:")
        lines: Counter[str] = Counter()
        for (where, in_driver), seconds in sampler.samples.items():
            lines[where + ("  [in psycopg]" if in_driver else "")] += seconds
        for where, seconds in lines.most_common(22):
            out.append(f"  {seconds:8.3f} s  {where}")
    return "\n".join(out)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total wall time {time.perf_counter() - t0:.1f} s")
