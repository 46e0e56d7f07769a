"""Reads over documents: what an order's bidder may download now (and when the rest), the
files themselves, and verification of a guarantee by its number and code or by its file."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from baohan.documents.models import Policy
from baohan.guarantees.errors import Conflict, NotAllowed, NotFound
from baohan.guarantees.models import Invoice, Order
from baohan.guarantees.selectors import GUARANTEE_STATUS_LABELS, guarantee_status
from baohan.guarantees.services.refunds import section_bid_opened
from baohan.rulepacks.models import InvoiceForm, OrderState, PolicyBeforeOpening, RulePack
from tenants.selectors import pack_in_force


class PolicyPending(Conflict):
    """The policy is being made: try again after ``retry_after`` seconds (sent as Retry-After)."""

    def __init__(self, code: str, message: str, *, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


# States in which an order has a policy to speak of.
POLICY_STATES = {OrderState.ISSUED.value, OrderState.SURRENDERED.value}


# --- what may be handed out ----------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentOffer:
    kind: str  # policy (plain) or policy_encrypted
    label: str
    available: bool
    available_from: datetime | None
    note: str
    # available; pending (being made: retry after ``retry_after`` seconds); later (from
    # ``available_from`` or an event such as bid opening); unavailable
    state: str = ""
    retry_after: int | None = None

    def __post_init__(self) -> None:
        if not self.state:
            object.__setattr__(self, "state", "available" if self.available else "unavailable")


PLAIN, SEALED = "policy", "policy_encrypted"


def order_documents(*, order: Order, pack: RulePack, now: datetime | None = None) -> list[DocumentOffer]:
    """The order's documents for its bidder: what is available now, and when the rest will be."""
    return _policy_offers(order=order, pack=pack, now=now or timezone.now()) + _invoice_offers(order=order)


INVOICE = "invoice"


def _invoice_offers(*, order: Order) -> list[DocumentOffer]:
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None:
        return []
    if invoice.form == InvoiceForm.PAPER.value:
        if invoice.state == Invoice.State.ISSUED:
            note = f"纸质发票已寄出：{invoice.carrier} {invoice.tracking_number}".strip()
        else:
            note = f"纸质发票{invoice.get_state_display()}，开具后将寄往 {invoice.recipient_address}"
        return [DocumentOffer(INVOICE, "纸质发票", False, None, note)]
    if invoice.state == Invoice.State.ISSUED and invoice.document:
        return [DocumentOffer(INVOICE, f"电子发票 {invoice.invoice_number}", True, None, "")]
    return [DocumentOffer(INVOICE, "电子发票", False, None, f"电子发票{invoice.get_state_display()}，开具后可下载")]


def _policy_offers(*, order: Order, pack: RulePack, now: datetime) -> list[DocumentOffer]:
    if order.state not in POLICY_STATES:
        return [DocumentOffer(PLAIN, "电子保单", False, None, "出函后可下载保单")]
    policy = Policy.objects.filter(order=order).first()
    if policy is None:
        return [_policy_pending(order=order, now=now)]
    opening = order.section.opening_time
    if section_bid_opened(order.section, now=now):
        return [DocumentOffer(PLAIN, "电子保单", True, None, "")]
    mode = pack.policy.before_opening
    if mode == PolicyBeforeOpening.PLAIN:
        return [DocumentOffer(PLAIN, "电子保单", True, None, "")]
    if mode != PolicyBeforeOpening.ENCRYPTED:  # nothing is encrypted: no word of decrypting
        return [DocumentOffer(PLAIN, "电子保单", False, opening, "开标后可下载电子保单", state="later")]
    offers = [DocumentOffer(PLAIN, "电子保单（解密）", False, opening, "开标后可下载解密保单", state="later")]
    if policy.sealed:
        offers.insert(0, DocumentOffer(SEALED, "加密保单", True, None, "开标前提供加密保单，开标后可下载解密保单"))
    return offers


def _policy_pending(*, order: Order, now: datetime) -> DocumentOffer:
    """Issued, and the policy is being made (a task queued at issue): say so, and when to look again."""
    retry = int(settings.POLICY_PENDING_RETRY_SECONDS)
    issued_at = order.issued_at or now
    if (now - issued_at).total_seconds() > settings.POLICY_PENDING_SLOW_SECONDS:
        note = "保单仍在生成中，请稍后刷新；如长时间未生成，请联系客服"
        retry = max(retry, 60)
    else:
        note = f"保单生成中，请约{retry}秒后刷新"
    return DocumentOffer(PLAIN, "电子保单", False, None, note, state="pending", retry_after=retry)


def policy_file_for_bidder(*, order: Order, pack: RulePack, kind: str) -> tuple[bytes, str]:
    offer = next((o for o in order_documents(order=order, pack=pack) if o.kind == kind), None)
    if offer is None:
        raise NotFound("document_not_found", "没有该文件")
    if offer.state == "pending":
        raise PolicyPending("policy_pending", offer.note, retry_after=offer.retry_after or 10)
    if not offer.available:
        raise NotAllowed("document_not_available", offer.note or "该文件暂不可下载")
    if kind == INVOICE:
        with order.invoice.document.open("rb") as handle:
            return handle.read(), f"{order.invoice.invoice_number or order.number}-invoice.pdf"
    policy = order.policy
    stored = policy.sealed if kind == SEALED else policy.plain
    with stored.open("rb") as handle:
        content = handle.read()
    suffix = "-encrypted" if kind == SEALED else ""
    return content, f"{order.guarantee_number}{suffix}.pdf"


def policy_file_for_centre(*, order: Order) -> tuple[bytes, str]:
    """The trading centre gets the plain policy, and only once the bid is opened."""
    policy = Policy.objects.filter(order=order).first()
    if policy is None:
        if order.state in POLICY_STATES:
            pending = _policy_pending(order=order, now=timezone.now())
            raise PolicyPending("policy_pending", pending.note, retry_after=pending.retry_after or 10)
        raise NotFound("document_not_found", "该订单尚无保单")
    if not section_bid_opened(order.section):
        raise NotAllowed("document_not_available", "开标后方可获取保单")
    with policy.plain.open("rb") as handle:
        return handle.read(), f"{order.guarantee_number}.pdf"


# --- verification (验真) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """What anyone may learn about a genuine guarantee: nothing about the bidder's money or people."""

    guarantee_number: str
    status: str  # valid, claimed, surrendered, expired, section_<status> (see guarantee_status)
    status_label: str
    centre: str
    issuer: str
    section_code: str
    section: str
    insured_amount: str
    valid_from: str
    valid_until: str


def _verification(*, order: Order, pack: RulePack) -> Verification:
    status = guarantee_status(order)
    label = GUARANTEE_STATUS_LABELS[status]
    issuer = next((i for i in pack.issuers if i.code == order.issuer_code), None)
    return Verification(
        guarantee_number=str(order.guarantee_number),
        status=status,
        status_label=label,
        centre=str(pack.centre.name),
        issuer=str(issuer.name) if issuer else order.issuer_code,
        section_code=order.section.code,
        section=order.section.name,
        insured_amount=f"{order.insured_amount:.2f}",
        valid_from=f"{order.valid_from:%Y-%m-%d}" if order.valid_from else "",
        valid_until=f"{order.valid_until:%Y-%m-%d}" if order.valid_until else "",
    )


NOT_GENUINE = ("not_genuine", "保单号或验真码不正确，无法验证该保函")


def policy_by_code(*, number: str, code: str) -> Policy:
    """The policy of guarantee ``number`` when ``code`` is its verification code (what the
    tenderee holds); ``NotFound`` otherwise, the same answer whichever was wrong."""
    policy = (
        Policy.objects.select_related("order__section").filter(order__guarantee_number=number.strip()).first()
        if number.strip()
        else None
    )
    given = code.strip().upper().encode()
    if policy is None or not secrets.compare_digest(policy.verification_code.encode(), given):
        raise NotFound(*NOT_GENUINE)
    return policy


def guarantee_verify(*, number: str, code: str) -> Verification:
    """The guarantee ``number`` is genuine when ``code`` is its verification code."""
    pack, _ = pack_in_force()
    return _verification(order=policy_by_code(number=number, code=code).order, pack=pack)


def document_verify(*, content: bytes) -> Verification:
    """A policy file is genuine when it is, byte for byte, one this centre issued. The sealed
    copy, before bid opening, vouches only for itself: what it hides stays hidden."""
    digest = hashlib.sha256(content).hexdigest()
    policy = (
        Policy.objects.select_related("order__section")
        .filter(models.Q(plain_sha256=digest) | models.Q(sealed_sha256=digest))
        .first()
    )
    if policy is None:
        raise NotFound("document_not_genuine", "该文件不是本中心出具的保单，或已被修改")
    pack, _ = pack_in_force()
    found = _verification(order=policy.order, pack=pack)
    if digest == policy.sealed_sha256 and not section_bid_opened(policy.order.section):
        return Verification(
            guarantee_number=found.guarantee_number,
            status=found.status,
            status_label=f"{found.status_label}（加密保单，开标后可查看详情）",
            centre=found.centre,
            issuer="",
            section_code="",
            section="",
            insured_amount="",
            valid_from="",
            valid_until="",
        )
    return found
