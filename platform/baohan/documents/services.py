"""Generating the policy of an issued guarantee, and handing out what may be handed out.

``policy_generate`` renders the policy once (a Celery task queued when the order is issued),
stores it through Django's storage under the centre's prefix, records its SHA-256 (a copy that
differs by one byte does not verify) and, where the pack hands out an encrypted policy before
bid opening, an AES-256 encrypted copy whose key the platform keeps."""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.utils import timezone

from baohan.documents.models import Policy
from baohan.documents.policy import PolicyFacts, policy_layout, policy_render
from baohan.guarantees.errors import Conflict, NotAllowed, NotFound
from baohan.guarantees.models import Invoice, Order
from baohan.guarantees.selectors import GUARANTEE_STATUS_LABELS, guarantee_status
from baohan.guarantees.services.orders import REMARK_ALPHABET, order_event_record
from baohan.guarantees.services.refunds import section_bid_opened
from baohan.guarantees.states import Actor
from baohan.rulepacks.models import InvoiceForm, OrderState, PolicyBeforeOpening, RulePack
from tenants.db import connection as tenant_connection
from tenants.selectors import pack_in_force
from tenants.themes import current_theme

# States in which an order has a policy to speak of.
POLICY_STATES = {OrderState.ISSUED.value, OrderState.SURRENDERED.value}


def verification_code_make() -> str:
    return "".join(secrets.choice(REMARK_ALPHABET) for _ in range(8))


def verify_url(*, number: str, code: str) -> str:
    tenant = tenant_connection.tenant
    domain = tenant.get_primary_domain().domain if tenant is not None else "localhost"
    scheme = "http" if settings.DEBUG else "https"
    return f"{scheme}://{domain}/verify?number={number}&code={code}"


def policy_facts(*, order: Order, pack: RulePack, code: str) -> PolicyFacts:
    issuer = next((i for i in pack.issuers if i.code == order.issuer_code), None)
    documents = issuer.documents if issuer is not None else []
    clauses = next((d.title for d in documents if d.code == "insurance_clauses"), "保险条款")
    if not (order.guarantee_number and order.issued_at and order.valid_from and order.valid_until):
        raise Conflict("order_not_issued", "订单尚未出函，不能生成保单")
    return PolicyFacts(
        centre=str(pack.centre.name),
        issuer=str(issuer.name) if issuer else order.issuer_code,
        guarantee_number=order.guarantee_number,
        bidder=order.enterprise.name,
        insured=str(order.form_data.get("insured_name") or "本标段招标人"),
        project=order.section.project_name or order.section.name,
        section=order.section.name,
        section_code=order.section.code,
        insured_amount=order.insured_amount,
        premium=order.premium,
        valid_from=order.valid_from,
        valid_until=order.valid_until,
        clauses=f"《{clauses}》",
        issued_at=order.issued_at,
        verification_code=code,
        verify_url=verify_url(number=order.guarantee_number, code=code),
    )


def policy_seal(*, pdf: bytes, password: str) -> bytes:
    """The same document, AES-256 encrypted (PDF 2.0, R6): it does not open without the key."""
    import pikepdf

    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.save(out, encryption=pikepdf.Encryption(owner=password, user=password, R=6))
    return out.getvalue()


def policy_generate(*, order_id: int, actor: Actor | None = None) -> Policy:
    """The order's policy: made once, after issue. Safe to call twice. The PDF is rendered
    before the order is locked (rendering takes tens of milliseconds)."""
    actor = actor or Actor.system("出具保单")
    pack, version = pack_in_force()
    order = Order.objects.select_related("section", "enterprise").filter(pk=order_id).first()
    if order is None:
        raise NotFound("order_not_found", "订单不存在")
    existing = Policy.objects.filter(order=order).first()
    if existing is not None:
        return existing
    if order.state not in POLICY_STATES or not order.guarantee_number:
        raise Conflict("order_not_issued", "订单尚未出函，不能生成保单")
    code = verification_code_make()
    theme = current_theme()
    pdf = policy_render(facts=policy_facts(order=order, pack=pack, code=code), layout=policy_layout(theme))
    sealed, password = b"", ""
    if pack.policy.before_opening == PolicyBeforeOpening.ENCRYPTED:
        password = secrets.token_urlsafe(24)
        sealed = policy_seal(pdf=pdf, password=password)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order_id)
        existing = Policy.objects.filter(order=locked).first()
        if existing is not None:  # made meanwhile by a run beside this one
            return existing
        if locked.guarantee_number != order.guarantee_number:
            raise Conflict("order_changed", "订单在生成保单时发生变化，请重试")
        policy = Policy(
            order=locked, verification_code=code, plain_sha256=hashlib.sha256(pdf).hexdigest(), layout_theme=theme
        )
        policy.plain.save(f"{order.guarantee_number}.pdf", ContentFile(pdf), save=False)
        if sealed:
            policy.sealed.save(f"{order.guarantee_number}-encrypted.pdf", ContentFile(sealed), save=False)
            policy.sealed_sha256 = hashlib.sha256(sealed).hexdigest()
            policy.sealed_password = password
        policy.save()
        order_event_record(
            order=locked,
            subject="document",
            subject_id=policy.pk,
            transition="policy_generated",
            actor=actor,
            from_state="",
            to_state="",
            version=version,
            data={"sha256": policy.plain_sha256, "sealed": bool(policy.sealed_sha256)},
        )
    return policy


# --- what may be handed out ----------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentOffer:
    kind: str  # policy (plain) or policy_encrypted
    label: str
    available: bool
    available_from: datetime | None
    note: str


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
        return [DocumentOffer(PLAIN, "电子保单", False, None, "保单生成中，请稍后刷新")]
    opening = order.section.opening_time
    if section_bid_opened(order.section, now=now):
        return [DocumentOffer(PLAIN, "电子保单", True, None, "")]
    mode = pack.policy.before_opening
    if mode == PolicyBeforeOpening.PLAIN:
        return [DocumentOffer(PLAIN, "电子保单", True, None, "")]
    offers = [DocumentOffer(PLAIN, "电子保单（解密）", False, opening, "开标后可下载解密保单")]
    if mode == PolicyBeforeOpening.ENCRYPTED and policy.sealed:
        offers.insert(0, DocumentOffer(SEALED, "加密保单", True, None, "开标前提供加密保单，开标后可下载解密保单"))
    return offers


def policy_file_for_bidder(*, order: Order, pack: RulePack, kind: str) -> tuple[bytes, str]:
    offer = next((o for o in order_documents(order=order, pack=pack) if o.kind == kind), None)
    if offer is None:
        raise NotFound("document_not_found", "没有该文件")
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
    status: str  # valid, claimed, surrendered, expired (see guarantee_status)
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
