"""Statement import on the workbench: a preview of the file's lines and of what each will do, before
the file is applied through ``statement_import_file`` (the service the issuer API's import calls).

The preview only reads: it parses the file with the layout the import would use (errors name the row
and the column), and says for each incoming line whether it was imported before, which of this
issuer's orders its remark names and whether the amount is what that order owes. The file waits in
the centre's cache, under the person's own key, until it is applied or half an hour has passed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.utils.translation import gettext as _

from baohan.guarantees.errors import InvalidInput
from baohan.guarantees.models import Order
from baohan.identity.fields import mask_tail
from baohan.payments.models import StatementLine
from baohan.payments.services.intake import layout_of, receiving_account_of, remark_codes
from baohan.payments.statements import StatementError, statement_parse
from baohan.payments.statements import StatementLine as ParsedLine
from baohan.portal.templatetags.portal_format import yuan
from baohan.rulepacks.models import OrderState, StatementLayout
from baohan.rulepacks.statement_presets import layouts_of
from tenants.selectors import pack_in_force

MAX_BYTES = 10 * 1024 * 1024
KEEP_SECONDS = 1800
PREVIEW_ROWS = 200
PAYABLE = (OrderState.AWAITING_PAYMENT, OrderState.PAYMENT_REVIEW, OrderState.PAYMENT_FAILED)


@dataclass(frozen=True)
class PreviewLine:
    row: int
    booked_at: datetime
    amount: Decimal
    payer_name: str
    remark: str
    outcome: str  # pay | check | known | unmatched | settled
    text: str
    order_number: str = ""


@dataclass
class Preview:
    token: str
    filename: str
    layout: str
    account: str
    lines: list[PreviewLine]
    total: int
    counts: dict[str, int] = field(default_factory=dict)


def statement_layouts(*, issuer_code: str) -> tuple[list[StatementLayout], str]:
    """The layouts a file may be read with, and the issuer's receiving account's own."""
    pack, _version = pack_in_force()
    issuer = next((i for i in pack.issuers if i.code == issuer_code), None)
    own = issuer.receiving_account.statement_layout if issuer and issuer.receiving_account else ""
    return sorted(layouts_of(list(pack.payment.statement_layouts)).values(), key=lambda x: x.code != own), own


def _key(*, user_id: int, token: str) -> str:
    return f"issuerdesk:statement:{user_id}:{token}"


def statement_preview(
    *, issuer_code: str, user_id: int, content: bytes, filename: str, layout_code: str = ""
) -> Preview:
    """Read the file as the import would and say what each line will do; nothing is stored but the file."""
    if not content:
        raise InvalidInput("required", "请选择对账单文件", field="file", label="对账单")
    if len(content) > MAX_BYTES:
        raise InvalidInput(
            "file_too_large", "对账单不能超过10M，更大的文件请通过接口导入", field="file", label="对账单"
        )
    pack, _version = pack_in_force()
    issuer, account = receiving_account_of(pack=pack, issuer_code=issuer_code)
    layout = layout_of(pack=pack, issuer=issuer, code=layout_code)
    try:
        parsed = statement_parse(content=content, layout=layout)
    except StatementError as exc:
        raise InvalidInput("statement_invalid", f"对账单无法读取：{exc}", field="file", label="对账单") from exc
    references = [line.reference for line in parsed if line.reference]
    known = set(
        StatementLine.objects.filter(account_number=account, reference__in=references).values_list(
            "reference", flat=True
        )
    )
    codes = {code for line in parsed for code in remark_codes(line.remark)}
    orders = {
        o.remark_code: o
        for o in Order.objects.filter(issuer_code=issuer.code, remark_code__in=codes).only(
            "number", "remark_code", "state", "payable_amount"
        )
    }
    lines: list[PreviewLine] = []
    counts: dict[str, int] = {}
    for line in parsed:
        outcome, text, number = _outcome(line.reference in known and bool(line.reference), line, orders)
        counts[outcome] = counts.get(outcome, 0) + 1
        if len(lines) < PREVIEW_ROWS:
            lines.append(
                PreviewLine(line.row, line.booked_at, line.amount, line.payer_name, line.remark, outcome, text, number)
            )
    token = secrets.token_urlsafe(16)
    cache.set(
        _key(user_id=user_id, token=token),
        {"content": content, "filename": filename[:200], "layout": layout.code, "issuer": issuer.code},
        timeout=KEEP_SECONDS,
    )
    return Preview(token, filename, layout.label, mask_tail(account), lines, len(parsed), counts)


def _outcome(known: bool, line: ParsedLine, orders: dict[str, Order]) -> tuple[str, str, str]:
    if known:
        return "known", _("已导入过，不会重复入账"), ""
    found = [orders[c] for c in remark_codes(line.remark) if c in orders]
    if len(found) != 1:
        return "unmatched", _("附言未对应本机构的订单，导入后进入待处理流水"), ""
    order = found[0]
    amount = line.amount
    if order.state not in PAYABLE:
        text = _("订单 %(number)s 已不在待付款状态，导入后按规则处理（如退款）") % {"number": order.number}
        return "settled", text, order.number
    if amount != order.payable_amount:
        text = _("订单 %(number)s 应付 %(amount)s，金额不一致，按规则核对") % {
            "number": order.number,
            "amount": yuan(order.payable_amount),
        }
        return "check", text, order.number
    return "pay", _("确认订单 %(number)s 付款") % {"number": order.number}, order.number


def statement_pending(*, issuer_code: str, user_id: int, token: str) -> dict[str, object] | None:
    """The previewed file, if it is still kept for this person and issuer."""
    kept = cache.get(_key(user_id=user_id, token=token)) if token else None
    if not isinstance(kept, dict) or kept.get("issuer") != issuer_code:
        return None
    return kept


def statement_pending_drop(*, user_id: int, token: str) -> None:
    cache.delete(_key(user_id=user_id, token=token))
