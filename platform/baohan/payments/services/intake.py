"""Bank statements in: files (command, issuer API) and signed pushes from a bank. Each line is
stored once, however often it arrives; matching finds each new line's order and settles it."""

from __future__ import annotations

import gc
import hashlib
import hmac
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from baohan.guarantees.errors import Conflict, InvalidInput, NotAllowed, NotFound
from baohan.guarantees.models import Order
from baohan.guarantees.services.orders import REMARK_ALPHABET, account_digest
from baohan.guarantees.states import Actor
from baohan.identity.fields import encrypt, mask_tail
from baohan.ops.due import centre_due_mark
from baohan.outbox.services import outbox_enqueue
from baohan.payments.db import bulk_cursor, ids_take, rows_copy, rows_update
from baohan.payments.models import (
    BankPushKey,
    BankPushNonce,
    OpenLine,
    Payment,
    StatementImport,
    StatementLine,
    StatementLineEvent,
)
from baohan.payments.services.settlement import PAYABLE, Receipt, SettleResult, name_normal, receipts_settle
from baohan.payments.statements import StatementError, statement_parse
from baohan.payments.statements import StatementLine as ParsedLine
from baohan.rulepacks.models import Issuer, RulePack, StatementLayout
from baohan.rulepacks.statement_presets import layouts_of
from tenants.db import connection as tenant_connection
from tenants.selectors import pack_in_force

CODE_PATTERN = re.compile(f"(?<![{REMARK_ALPHABET}])[{REMARK_ALPHABET}]{{8}}(?![{REMARK_ALPHABET}])")
PUSH_TOLERANCE_SECONDS = 300
ANALYZE_FROM = 10_000  # lines stored at once after which the planner's statistics are refreshed
MATCH_JOB = "payments.statements_match"
MATCH_RECHECK = timedelta(minutes=2)  # the periodic match after an import, behind the one queued by it


def remark_codes(remark: str) -> list[str]:
    """Every token of the remark that could be an order's remark code (8 characters of the alphabet)."""
    return sorted(set(CODE_PATTERN.findall(remark.upper())))


@dataclass(frozen=True)
class ImportResult:
    statement_import: StatementImport
    lines_total: int
    lines_new: int


def receiving_account_of(*, pack: RulePack, issuer_code: str, account_number: str = "") -> tuple[Issuer, str]:
    for issuer in pack.issuers:
        if issuer.code == issuer_code:
            account = issuer.receiving_account
            if account is None:
                raise InvalidInput(
                    "no_receiving_account", f"{issuer.short_name} 未配置收款账户", field="account_number"
                )
            if account_number and account_number != account.account_number:
                raise InvalidInput(
                    "unknown_account",
                    f"收款账号 {mask_tail(account_number)} 不是 {issuer.short_name} 的收款账户",
                    field="account_number",
                )
            return issuer, account.account_number
    raise NotFound("unknown_issuer", f"出函机构 {issuer_code} 不在本中心的名单中")


def layout_of(*, pack: RulePack, issuer: Issuer, code: str = "") -> StatementLayout:
    layouts = layouts_of(list(pack.payment.statement_layouts))
    assert issuer.receiving_account is not None
    code = code or issuer.receiving_account.statement_layout
    if code not in layouts:
        raise InvalidInput(
            "unknown_layout", f"未知的对账单格式 {code}；可用：{'、'.join(sorted(layouts))}", field="layout"
        )
    return layouts[code]


def _fingerprints(account_number: str, lines: Sequence[ParsedLine]) -> list[str]:
    """A line's identity: the bank's serial number when it has one; else its content and its
    occurrence among identical lines of the same file (two equal transfers stay two lines)."""
    seen: dict[str, int] = {}
    out = []
    for line in lines:
        if line.reference:
            basis = f"ref|{account_number}|{line.reference}"
        else:
            content = "|".join(
                [
                    account_number,
                    line.booked_at.isoformat(),
                    str(line.amount),
                    line.payer_account,
                    line.payer_name,
                    line.remark,
                ]
            )
            n = seen.get(content, 0)
            seen[content] = n + 1
            basis = f"content|{content}|{n}"
        out.append(hashlib.sha256(basis.encode()).hexdigest())
    return out


def statement_lines_store(
    *,
    issuer_code: str,
    account_number: str,
    lines: Sequence[ParsedLine],
    source: str,
    filename: str = "",
    layout: str = "",
    content_digest: str = "",
    actor: Actor,
) -> ImportResult:
    """Store the lines not seen before (by fingerprint); the rest add nothing."""
    prints = _fingerprints(account_number, lines)
    with transaction.atomic():
        batch = StatementImport.objects.create(
            issuer_code=issuer_code,
            account_number=account_number,
            layout=layout,
            source=source,
            filename=filename[:200],
            sha256=content_digest,
            lines_total=len(lines),
            actor_label=actor.label[:200],
        )
        # Serialise imports of one account: two overlapping files arriving together store each line once.
        with bulk_cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"statement:{account_number}"])
            cursor.execute("SELECT fingerprint FROM payments_statementline WHERE fingerprint = ANY(%b)", [prints])
            known = {row[0] for row in cursor.fetchall()}
        new = []
        taken: set[str] = set()
        for fp, line in zip(prints, lines, strict=True):
            if fp in known or fp in taken:
                continue
            taken.add(fp)
            new.append((fp, line))
        ids = ids_take("payments_statementline", len(new))
        now = timezone.now()
        rows_copy(
            "payments_statementline",
            [
                "id",
                "statement_import_id",
                "issuer_code",
                "account_number",
                "fingerprint",
                "reference",
                "booked_at",
                "amount",
                "payer_name",
                "payer_account",
                "payer_account_digest",
                "payer_account_tail",
                "payer_bank",
                "remark",
                "remark_codes",
                "status",
                "note",
                "row",
                "created_at",
            ],
            (
                [
                    ident,
                    batch.pk,
                    issuer_code,
                    account_number,
                    fp,
                    line.reference[:64],
                    line.booked_at,
                    line.amount,
                    line.payer_name[:200],
                    encrypt(line.payer_account) if line.payer_account else "",
                    account_digest(line.payer_account),
                    line.payer_account[-4:],
                    line.payer_bank[:200],
                    line.remark[:500],
                    remark_codes(line.remark),
                    StatementLine.Status.NEW,
                    "",
                    line.row,
                    now,
                ]
                for ident, (fp, line) in zip(ids, new, strict=True)
            ),
        )
        rows_copy("payments_openline", ["line_id"], ([ident] for ident in ids))
        if len(new) >= ANALYZE_FROM:
            # A large statement changes what the planner should expect of both tables before
            # the background statistics catch up; matching comes next. After the commit: the
            # statistics then count only lines that stay, and no lock is held meanwhile.
            transaction.on_commit(_statistics_refresh)
        batch.lines_new = len(new)
        batch.save(update_fields=["lines_new"])
        if new:
            _match_soon()
    return ImportResult(batch, len(lines), len(new))


def _match_soon() -> None:
    """Queue matching in this transaction (the outbox): it runs once the lines are committed. Should
    that run fail, the periodic match comes by shortly after (``baohan/ops/due.py``)."""
    outbox_enqueue(task="payments.statements_match")
    centre_due_mark(job=MATCH_JOB, at=timezone.now() + MATCH_RECHECK)


def statements_match_next_due(*, now: datetime) -> datetime | None:
    """Matching is due again while lines wait in the queue still new (a run stopped short)."""
    waiting = OpenLine.objects.filter(line__status=StatementLine.Status.NEW).exists()
    return now if waiting else None


def _statistics_refresh() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE payments_statementline, payments_openline")


def statement_import_file(
    *,
    issuer_code: str,
    content: bytes,
    filename: str,
    actor: Actor,
    account_number: str = "",
    layout_code: str = "",
    source: str = StatementImport.Source.FILE,
) -> ImportResult:
    """Parse a statement export of one of ``issuer_code``'s receiving accounts and store its lines.
    A file that cannot be read is refused whole, with the row and column named."""
    pack, _ = pack_in_force()
    issuer, account = receiving_account_of(pack=pack, issuer_code=issuer_code, account_number=account_number)
    layout = layout_of(pack=pack, issuer=issuer, code=layout_code)
    if not content:
        raise InvalidInput("required", "请选择对账单文件", field="file", label="对账单")
    try:
        lines = statement_parse(content=content, layout=layout)
    except StatementError as exc:
        raise InvalidInput("statement_invalid", f"对账单无法读取：{exc}", field="file", label="对账单") from exc
    return statement_lines_store(
        issuer_code=issuer.code,
        account_number=account,
        lines=lines,
        source=source,
        filename=filename,
        layout=layout.code,
        content_digest=hashlib.sha256(content).hexdigest(),
        actor=actor,
    )


# --- matching --------------------------------------------------------------------------------


# How many threads settle one large run of lines, each with its own database connection and
# its own share of the orders (a run smaller than MATCH_PARALLEL_FROM lines stays on the caller's
# connection). Lines are read ``MATCH_PLAN_SIZE`` at a time.
MATCH_WORKERS = max(1, min(4, os.cpu_count() or 1))
MATCH_PARALLEL_FROM = 5_000
MATCH_PLAN_SIZE = 200_000


def statement_lines_match(
    *,
    actor: Actor | None = None,
    chunk: int = 20_000,
    workers: int = MATCH_WORKERS,
    parallel_from: int = MATCH_PARALLEL_FROM,
) -> SettleResult:
    """Match every new line (set-based) and settle the matched ones.

    A line names its order by remark code; in a pack that does not ask for remark codes it may
    instead name it by payer name and amount, when exactly one payable order fits. Lines with
    no order, or more than one, wait for staff (``unmatched``).

    The matched lines are split by order, so that all lines for one order (a payment and its
    duplicate) are decided together and in order, and settled ``chunk`` at a time, each chunk
    in its own transaction (orders stay locked briefly). A large run is shared among
    ``workers`` threads, one share of the orders each. Safe to run twice or side by side:
    a chunk takes only lines still new (skipping those another run holds), and settlement
    skips money already settled."""
    actor = actor or Actor.system("对账")
    total = SettleResult()
    collecting = gc.isenabled()
    if collecting:
        # Hundreds of thousands of short-lived objects and no cycles: collecting meanwhile only
        # costs time (and settlement in several threads must not switch it back on halfway).
        gc.disable()
    try:
        while True:
            seen, pairs = _match_plan(limit=MATCH_PLAN_SIZE)
            total.unmatched += seen - len(pairs)
            # Threads run on connections of their own: they would not see (and could wait on) the
            # work of a transaction the caller has open.
            parallel = len(pairs) >= parallel_from and not connection.in_atomic_block
            shares = _shares(pairs, workers=workers if parallel else 1, chunk=chunk)
            for result in _shares_settle(shares, actor=actor):
                total.merge(result)
            if seen < MATCH_PLAN_SIZE:
                return total
            gc.collect()  # between rounds of a long backlog
    finally:
        if collecting:
            gc.enable()


def _match_plan(*, limit: int) -> tuple[int, list[tuple[int, int]]]:
    """Read up to ``limit`` new lines and find their orders: ``(lines read, [(line, order)])``.
    Lines without an order are marked unmatched here, with the reason."""
    with bulk_cursor() as cursor:
        # Each new line (the first ``limit`` of the queue) with every order its remark names, one
        # row per pair (or one row with no order): grouped here, five times faster than asking
        # the server to aggregate.
        cursor.execute(
            # (The codes set apart so that the orders are joined by hash, not looked up one by one.)
            """
            WITH n AS (SELECT l.id, l.issuer_code, l.remark_codes FROM payments_openline q
                         JOIN payments_statementline l ON l.id = q.line_id
                        WHERE l.status = 'new' ORDER BY q.line_id LIMIT %s),
                 c AS (SELECT n.id, unnest(n.remark_codes) AS code FROM n)
            SELECT n.id, n.issuer_code, o.id, o.issuer_code
              FROM n LEFT JOIN c ON c.id = n.id LEFT JOIN guarantees_order o ON o.remark_code = c.code
            """,
            [limit],
        )
        line_ids: list[int] = []
        by_code: dict[int, tuple[str, set[int], set[str]]] = {}
        for line_id, line_issuer, order_id, order_issuer in cursor.fetchall():
            if line_id not in by_code:
                line_ids.append(line_id)
                by_code[line_id] = (line_issuer, set(), set())
            if order_id is not None:
                by_code[line_id][1].add(order_id)
                by_code[line_id][2].add(order_issuer)
        if not line_ids:
            return 0, []
        line_ids.sort()
        by_code = {line_id: named for line_id, named in by_code.items() if named[1]}
        # Without remark codes (a pack that does not ask for them), a line may still name its
        # order by payer and amount: exactly one payable order of that enterprise and amount.
        pack, _ = pack_in_force()
        rest = [] if pack.payment.remark_required else [i for i in line_ids if i not in by_code]
        by_payer: dict[int, list[int]] = {}
        if rest:
            cursor.execute(
                """
                SELECT l.id, l.payer_name, array_agg(o.id), array_agg(e.name)
                  FROM payments_statementline l
                  JOIN guarantees_order o ON o.payable_amount = l.amount AND o.state = ANY(%s)
                                          AND o.issuer_code = l.issuer_code
                  JOIN guarantees_enterprise e ON e.id = o.enterprise_id
                 WHERE l.id = ANY(%b) AND l.payer_name <> ''
                 GROUP BY l.id
                """,
                [sorted(PAYABLE), rest],
            )
            for line_id, payer, order_ids, names in cursor.fetchall():
                payer = name_normal(payer)
                by_payer[line_id] = [o for o, n in zip(order_ids, names, strict=True) if name_normal(n) == payer]

    pairs: list[tuple[int, int]] = []
    unmatched: list[list[object]] = []
    for line_id in line_ids:
        note = "未找到订单附言"
        if line_id in by_code:
            issuer, orders, issuers = by_code[line_id]
            if len(orders) > 1:
                note = "附言中含多个订单附言，请人工核对"
            elif issuers != {issuer}:
                note = "收款账户不是该订单出函机构的账户"
            else:
                pairs.append((line_id, next(iter(orders))))
                continue
        elif line_id in by_payer:
            if len(by_payer[line_id]) == 1:
                pairs.append((line_id, by_payer[line_id][0]))
                continue
            note = "未找到订单附言，且按户名和金额无法唯一确定订单"
        unmatched.append([line_id, note])
    if unmatched:
        with bulk_cursor() as cursor:
            cursor.execute(
                """UPDATE payments_statementline AS t SET status = 'unmatched', note = v.note
                     FROM unnest(%b::bigint[], %b::text[]) AS v(id, note) WHERE t.id = v.id AND t.status = 'new'""",
                [[u[0] for u in unmatched], [u[1] for u in unmatched]],
            )
    return len(line_ids), pairs


def _shares(pairs: list[tuple[int, int]], *, workers: int, chunk: int) -> list[list[list[tuple[int, int]]]]:
    """``pairs`` in ``workers`` shares by order (an order's lines all in one share, one chunk),
    each share in chunks of about ``chunk`` lines."""
    by_order: dict[int, list[tuple[int, int]]] = {}
    for line_id, order_id in pairs:
        by_order.setdefault(order_id, []).append((line_id, order_id))
    shares: list[list[list[tuple[int, int]]]] = [[[]] for _ in range(workers)]
    for order_id, lines in by_order.items():
        chunks = shares[order_id % workers]
        if len(chunks[-1]) >= chunk:
            chunks.append([])
        chunks[-1].extend(lines)
    return [[c for c in chunks if c] for chunks in shares if chunks[0]]


def _shares_settle(shares: list[list[list[tuple[int, int]]]], *, actor: Actor) -> list[SettleResult]:
    if len(shares) <= 1:
        return [_chunk_settle(c, actor=actor) for share in shares for c in share]
    tenant = tenant_connection.tenant

    def work(share: list[list[tuple[int, int]]]) -> list[SettleResult]:
        # A thread of its own: its own connection, set to this centre, closed at the end.
        try:
            tenant_connection.set_tenant(tenant)
            return [_chunk_settle(c, actor=actor) for c in share]
        finally:
            connection.close()

    with _short_switches(), ThreadPoolExecutor(max_workers=len(shares), thread_name_prefix="match") as pool:
        return [result for results in pool.map(work, shares) for result in results]


_switches = {"users": 0, "saved": 0.0}
_switches_lock = threading.Lock()


@contextmanager
def _short_switches() -> Iterator[None]:
    """A thread whose statement has come back should not wait long for the one building rows:
    the interpreter is handed over more often while shares run (process-wide, so counted)."""
    with _switches_lock:
        if _switches["users"] == 0:
            _switches["saved"] = sys.getswitchinterval()
            sys.setswitchinterval(0.0005)
        _switches["users"] += 1
    try:
        yield
    finally:
        with _switches_lock:
            _switches["users"] -= 1
            if _switches["users"] == 0:
                sys.setswitchinterval(_switches["saved"])


def _chunk_settle(pairs: list[tuple[int, int]], *, actor: Actor) -> SettleResult:
    order_of = dict(pairs)
    columns = ", ".join(f"l.{c}" for c in LINE_COLUMNS.split(", "))
    with transaction.atomic():
        with bulk_cursor() as cursor:
            # Claim the lines still new (locked in id order, skipping any another run holds) and
            # take them off the queue: staff and other runs see them taken until this commits.
            cursor.execute(
                f"""WITH claimed AS (
                        SELECT l.id FROM payments_statementline l JOIN unnest(%b::bigint[]) AS v(id) USING (id)
                         WHERE l.status = 'new' ORDER BY l.id FOR UPDATE OF l SKIP LOCKED),
                     gone AS (
                        DELETE FROM payments_openline q USING claimed c WHERE q.line_id = c.id RETURNING q.line_id)
                    SELECT {columns} FROM payments_statementline l JOIN gone ON gone.line_id = l.id""",
                [list(order_of)],
            )
            receipts = [_line_receipt(row, order_of[row[0]]) for row in cursor.fetchall()]
        result = receipts_settle(receipts=receipts, actor=actor, claimed=True)
        settled = set(result.lines)
        rows_update(
            "payments_statementline",
            "id",
            {"id": "bigint"},
            [[line] for line in sorted(settled)],
            fixed={"status": StatementLine.Status.MATCHED.value},
        )
        # A claimed line settlement did not take (its order vanished, say) goes to staff.
        left = sorted({r.statement_line_id for r in receipts if r.statement_line_id is not None} - settled)
        if left:
            rows_update(
                "payments_statementline",
                "id",
                {"id": "bigint"},
                [[line] for line in left],
                fixed={"status": StatementLine.Status.UNMATCHED.value, "note": "未能入账，请人工核对"},
            )
            rows_copy("payments_openline", ["line_id"], ([line] for line in left))
    return result


LINE_COLUMNS = (
    "id, issuer_code, amount, booked_at, payer_name, payer_account, payer_account_digest, payer_account_tail, "
    "payer_bank, fingerprint"
)


def _line_rows(cursor: Any, line_ids: list[int]) -> dict[int, Sequence[object]]:
    """Lines as stored (the payer account still encrypted: it is copied, never decrypted here)."""
    cursor.execute(f"SELECT {LINE_COLUMNS} FROM payments_statementline WHERE id = ANY(%s)", [line_ids])
    return {row[0]: row for row in cursor.fetchall()}


def _line_receipt(line: Sequence[object], order_id: int) -> Receipt:
    ident, _, amount, booked_at, payer_name, payer_account, digest, tail, bank, fingerprint = line
    return Receipt(
        channel=Payment.Channel.BANK_TRANSFER,
        source_ref=str(fingerprint),
        order_id=order_id,
        amount=amount,  # type: ignore[arg-type]
        paid_at=booked_at,  # type: ignore[arg-type]
        payer_name=str(payer_name),
        payer_account=str(payer_account),
        payer_account_digest=str(digest),
        payer_account_tail=str(tail),
        payer_bank=str(bank),
        statement_line_id=int(ident),  # type: ignore[call-overload]
    )


def statement_line_assign(*, line_id: int, order_number: str, actor: Actor) -> SettleResult:
    """Staff put an unmatched line on an order; it is then settled like any other."""
    with transaction.atomic():
        line = StatementLine.objects.select_for_update().filter(pk=line_id).first()
        if line is None or (actor.kind.value == "issuer" and line.issuer_code != actor.id):
            raise NotFound("line_not_found", "对账单明细不存在")
        if line.status != StatementLine.Status.UNMATCHED:
            raise Conflict("line_not_unmatched", f"该明细状态为「{line.get_status_display()}」，不能再指定订单")
        order = Order.objects.filter(number=order_number).first()
        if order is None:
            raise InvalidInput("unknown_order", f"订单 {order_number} 不存在", field="order")
        if order.issuer_code != line.issuer_code:
            raise InvalidInput("wrong_issuer", "该订单不由此收款账户所属的出函机构承保", field="order")
        with connection.cursor() as cursor:
            row = _line_rows(cursor, [line.pk])[line.pk]
        result = receipts_settle(receipts=[_line_receipt(row, order.pk)], actor=actor)
        OpenLine.objects.filter(line=line).delete()
        StatementLine.objects.filter(pk=line.pk).update(
            status=StatementLine.Status.MATCHED, note=f"{actor.label} 指定订单"[:500]
        )
        _line_event(line=line, action=StatementLineEvent.Action.ASSIGNED, actor=actor, order_number=order.number)
    return result


def _line_event(*, line: StatementLine, action: str, actor: Actor, order_number: str = "", reason: str = "") -> None:
    StatementLineEvent.objects.create(
        line=line,
        action=action,
        order_number=order_number,
        reason=reason[:500],
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_label=actor.label[:200],
    )


def statement_line_dismiss(*, line_id: int, actor: Actor, reason: str) -> StatementLine:
    if not reason.strip():
        raise InvalidInput("required", "请填写忽略原因", field="reason")
    with transaction.atomic():
        line = StatementLine.objects.select_for_update().filter(pk=line_id).first()
        if line is None or (actor.kind.value == "issuer" and line.issuer_code != actor.id):
            raise NotFound("line_not_found", "对账单明细不存在")
        if line.status != StatementLine.Status.UNMATCHED:
            raise Conflict("line_not_unmatched", f"该明细状态为「{line.get_status_display()}」，不能忽略")
        OpenLine.objects.filter(line=line).delete()
        line.status = StatementLine.Status.DISMISSED
        line.note = f"{actor.label}：{reason}"[:500]
        line.save(update_fields=["status", "note"])
        _line_event(line=line, action=StatementLineEvent.Action.DISMISSED, actor=actor, reason=reason.strip())
    return line


# --- pushes from a bank -------------------------------------------------------------------------


def push_signature(*, secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp \\n nonce \\n sha256(body)``, hex."""
    message = f"{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def bank_push_verify(*, key_id: str, timestamp: str, nonce: str, signature: str, body: bytes) -> BankPushKey:
    """A push is taken once: known key, valid signature, timestamp within 300 s either way, unused nonce."""
    key = BankPushKey.objects.filter(key_id=key_id, is_active=True).first()
    if key is None:
        raise NotAllowed("bad_signature", "签名无效")
    expected = push_signature(secret=key.secret, timestamp=timestamp, nonce=nonce, body=body)
    if not hmac.compare_digest(expected, signature.lower()):
        raise NotAllowed("bad_signature", "签名无效")
    try:
        sent = datetime.fromtimestamp(int(timestamp), tz=timezone.get_current_timezone())
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidInput("bad_timestamp", "时间戳无效", field="timestamp") from exc
    if abs((timezone.now() - sent).total_seconds()) > PUSH_TOLERANCE_SECONDS:
        raise NotAllowed("stale_request", "请求时间与服务器时间相差超过 300 秒")
    if not nonce or len(nonce) > 64:
        raise InvalidInput("bad_nonce", "随机数无效", field="nonce")
    with transaction.atomic():
        BankPushNonce.objects.filter(
            created_at__lt=timezone.now() - timedelta(seconds=2 * PUSH_TOLERANCE_SECONDS)
        ).delete()
        _, created = BankPushNonce.objects.get_or_create(key_id=key_id, nonce=nonce)
    if not created:
        raise Conflict("replayed_request", "该请求已处理过（随机数重复）")
    return key


def bank_push_key_set(*, key_id: str, issuer_code: str, account_number: str, secret: str) -> BankPushKey:
    pack, _ = pack_in_force()
    receiving_account_of(pack=pack, issuer_code=issuer_code, account_number=account_number)
    if len(secret) < 32:
        raise InvalidInput("weak_secret", "密钥至少 32 个字符", field="secret")
    key, _ = BankPushKey.objects.update_or_create(
        key_id=key_id,
        defaults={"issuer_code": issuer_code, "account_number": account_number, "secret": secret, "is_active": True},
    )
    return key
