"""Bank statements in: files (command, issuer API) and signed pushes from a bank. Each line is
stored once, however often it arrives; matching finds each new line's order and settles it."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
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
from baohan.payments.db import ids_take, rows_copy, rows_update
from baohan.payments.models import BankPushKey, BankPushNonce, Payment, StatementImport, StatementLine
from baohan.payments.services.settlement import PAYABLE, Receipt, SettleResult, name_normal, receipts_settle
from baohan.payments.statements import StatementError, statement_parse
from baohan.payments.statements import StatementLine as ParsedLine
from baohan.rulepacks.models import Issuer, RulePack, StatementLayout
from baohan.rulepacks.statement_presets import layouts_of
from tenants.selectors import pack_in_force

CODE_PATTERN = re.compile(f"(?<![{REMARK_ALPHABET}])[{REMARK_ALPHABET}]{{8}}(?![{REMARK_ALPHABET}])")
PUSH_TOLERANCE_SECONDS = 300


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
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"statement:{account_number}"])
            cursor.execute("SELECT fingerprint FROM payments_statementline WHERE fingerprint = ANY(%s)", [prints])
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
                "order_id",
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
                    None,
                    "",
                    line.row,
                    now,
                ]
                for ident, (fp, line) in zip(ids, new, strict=True)
            ),
        )
        batch.lines_new = len(new)
        batch.save(update_fields=["lines_new"])
        if new:
            transaction.on_commit(_match_soon)
    return ImportResult(batch, len(lines), len(new))


def _match_soon() -> None:
    from baohan.payments.tasks import statements_match_task

    statements_match_task.delay()


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


def statement_lines_match(*, actor: Actor | None = None, chunk: int = 20_000) -> SettleResult:
    """Match every new line (set-based): by remark code, else (for packs without remark codes) by
    payer name and amount when exactly one payable order fits; then settle the matched lines.
    Lines with no order, or more than one, wait for staff (``unmatched``). Lines are taken
    ``chunk`` at a time, each chunk in its own transaction (orders stay locked briefly)."""
    actor = actor or Actor.system("对账")
    total = SettleResult()
    while True:
        done, result = _match_chunk(actor=actor, limit=chunk)
        total.payments += result.payments
        total.paid_orders += result.paid_orders
        total.skipped += result.skipped
        for outcome, count in result.outcomes.items():
            total.outcomes[outcome] = total.outcomes.get(outcome, 0) + count
        if done < chunk:
            return total


def _match_chunk(*, actor: Actor, limit: int) -> tuple[int, SettleResult]:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT id FROM payments_statementline WHERE status = 'new'
                    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
                [limit],
            )
            line_ids = [row[0] for row in cursor.fetchall()]
            if not line_ids:
                return 0, SettleResult()
            cursor.execute(
                """
                SELECT l.id, array_agg(DISTINCT o.id), array_agg(DISTINCT o.issuer_code)
                  FROM payments_statementline l
                  CROSS JOIN LATERAL unnest(l.remark_codes) AS c(code)
                  JOIN guarantees_order o ON o.remark_code = c.code
                 WHERE l.id = ANY(%s)
                 GROUP BY l.id
                """,
                [line_ids],
            )
            by_code = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
            # Without remark codes (a pack that does not ask for them), a line may still name its
            # order by payer and amount: exactly one payable order of that enterprise and amount.
            pack, _ = pack_in_force()
            rest = [] if pack.payment.remark_required else [i for i in line_ids if i not in by_code]
            cursor.execute(
                """
                SELECT l.id, array_agg(o.id), array_agg(o.issuer_code), array_agg(e.name)
                  FROM payments_statementline l
                  JOIN guarantees_order o ON o.payable_amount = l.amount AND o.state = ANY(%s)
                                          AND o.issuer_code = l.issuer_code
                  JOIN guarantees_enterprise e ON e.id = o.enterprise_id
                 WHERE l.id = ANY(%s) AND l.payer_name <> ''
                 GROUP BY l.id
                """,
                [sorted(PAYABLE), rest],
            )
            lines_meta = {}
            for line_id, order_ids, issuers, names in cursor.fetchall():
                lines_meta[line_id] = (order_ids, issuers, names)
            lines = _line_rows(cursor, line_ids)

        receipts: list[Receipt] = []
        unmatched: list[list[object]] = []
        for line_id in line_ids:
            line = lines[line_id]
            order_id, note = None, ""
            if line_id in by_code:
                orders, issuers = by_code[line_id]
                if len(orders) > 1:
                    note = "附言中含多个订单附言，请人工核对"
                elif issuers[0] != line[1]:
                    note = "收款账户不是该订单出函机构的账户"
                else:
                    order_id = orders[0]
            elif line_id in lines_meta:
                orders, _, names = lines_meta[line_id]
                fits = [o for o, n in zip(orders, names, strict=True) if name_normal(n) == name_normal(str(line[4]))]
                if len(fits) == 1:
                    order_id = fits[0]
                else:
                    note = "未找到订单附言，且按户名和金额无法唯一确定订单"
            else:
                note = "未找到订单附言"
            if order_id is None:
                unmatched.append([line_id, StatementLine.Status.UNMATCHED.value, note])
                continue
            receipts.append(_line_receipt(line, order_id))
        rows_update("payments_statementline", "id", {"id": "bigint", "status": "text", "note": "text"}, unmatched)
        result = receipts_settle(receipts=receipts, actor=actor)
        rows_update(
            "payments_statementline",
            "id",
            {"id": "bigint", "status": "text", "order_id": "bigint"},
            [[r.statement_line_id, StatementLine.Status.MATCHED.value, r.order_id] for r in receipts],
        )
    return len(line_ids), result


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
        StatementLine.objects.filter(pk=line.pk).update(
            status=StatementLine.Status.MATCHED, order=order, note=f"{actor.label} 指定订单"[:500]
        )
    return result


def statement_line_dismiss(*, line_id: int, actor: Actor, reason: str) -> StatementLine:
    if not reason.strip():
        raise InvalidInput("required", "请填写忽略原因", field="reason")
    with transaction.atomic():
        line = StatementLine.objects.select_for_update().filter(pk=line_id).first()
        if line is None or (actor.kind.value == "issuer" and line.issuer_code != actor.id):
            raise NotFound("line_not_found", "对账单明细不存在")
        if line.status != StatementLine.Status.UNMATCHED:
            raise Conflict("line_not_unmatched", f"该明细状态为「{line.get_status_display()}」，不能忽略")
        line.status = StatementLine.Status.DISMISSED
        line.note = f"{actor.label}：{reason}"[:500]
        line.save(update_fields=["status", "note"])
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
