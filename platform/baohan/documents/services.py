"""Generating the policy of an issued guarantee, and handing out what may be handed out.

``policy_generate`` renders the policy once (a Celery task queued when the order is issued),
stores it through Django's storage under the centre's prefix, records its SHA-256 (a copy that
differs by one byte does not verify) and, where the pack hands out an encrypted policy before
bid opening, an AES-256 encrypted copy whose key the platform keeps."""

from __future__ import annotations

import hashlib
import io
import secrets
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet

from baohan.documents.models import Policy
from baohan.documents.policy import PolicyFacts, policy_layout, policy_render
from baohan.documents.selectors import POLICY_STATES
from baohan.guarantees.errors import Conflict, NotFound
from baohan.guarantees.models import Order
from baohan.guarantees.services.orders import REMARK_ALPHABET, order_event_record
from baohan.guarantees.states import Actor
from baohan.rulepacks.models import PolicyBeforeOpening, RulePack
from tenants.db import connection as tenant_connection
from tenants.selectors import pack_in_force
from tenants.themes import current_theme


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
    """The same document, AES-256 encrypted (PDF 2.0 security handler, R6, by pypdf over
    ``cryptography``'s AES and hashlib): it does not open without the key. The objects are copied
    as they are: the rendered streams stay Flate-compressed and are not compressed again."""
    import pypdf
    from pypdf.constants import UserAccessPermissions
    from pypdf.generic import DictionaryObject, NameObject, NumberObject

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    # AES-256 (R6) is PDF 1.7 with Adobe's extension level 8: declared, as qpdf declares it.
    writer.pdf_header = b"%PDF-1.7"
    writer.root_object[NameObject("/Extensions")] = DictionaryObject(
        {
            NameObject("/ADBE"): DictionaryObject(
                {NameObject("/BaseVersion"): NameObject("/1.7"), NameObject("/ExtensionLevel"): NumberObject(8)}
            )
        }
    )
    writer.encrypt(
        user_password=password,
        owner_password=password,
        algorithm="AES-256",
        # Everything but assembling the document (inserting, rotating or deleting pages).
        permissions_flag=UserAccessPermissions.all() & ~UserAccessPermissions.ASSEMBLE_DOC,
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def policy_generate(*, order_id: int, actor: Actor | None = None) -> Policy:
    """The order's policy: made once, after issue. Safe to call twice. The PDF is rendered
    before the order is locked (rendering takes tens of milliseconds)."""
    actor = actor or Actor.system("出具保单")
    pack, version = pack_in_force()
    # The policy made already, if any, in the same query (no reverse row: None).
    order = Order.objects.select_related("section", "enterprise", "policy").filter(pk=order_id).first()
    if order is None:
        raise NotFound("order_not_found", "订单不存在")
    existing: Policy | None = getattr(order, "policy", None)
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


def _policies_missing() -> QuerySet[Order]:
    return Order.objects.filter(state__in=POLICY_STATES, guarantee_number__isnull=False, policy__isnull=True)


def policies_backfill(*, limit: int = 200) -> int:
    """Make the policies of issued orders that have none yet (their task was lost); how many."""
    missing = list(_policies_missing().order_by("issued_at", "id").values_list("pk", flat=True)[:limit])
    for order_id in missing:
        policy_generate(order_id=order_id)
    return len(missing)


def policies_next_due(*, now: datetime) -> datetime | None:
    """The backfill is due again while an issued order still has no policy (``baohan/ops/due.py``)."""
    return now if _policies_missing().exists() else None
