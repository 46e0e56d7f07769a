"""企业信息认证: a bidder submits the enterprise's documents; the centre approves or rejects.

Where the pack's enterprise source is self-verification, a bidder account acts for an
enterprise only once a request is approved; with ``manual_review: false`` the system approves
at once. Each change writes an ``AccountEvent``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from baohan.guarantees.errors import Conflict, InvalidInput, NotAllowed, NotFound
from baohan.guarantees.forms import form_clean
from baohan.guarantees.models import Enterprise, Operator, Upload
from baohan.identity.models import EnterpriseVerification, UserPhone
from baohan.identity.services.accounts import account_event_record
from baohan.rulepacks.models import EnterpriseSource
from tenants.selectors import pack_in_force

State = EnterpriseVerification.State


def verification_latest(*, user: User) -> EnterpriseVerification | None:
    return EnterpriseVerification.objects.filter(user=user).order_by("-submitted_at", "-id").first()


def enterprise_verification_submit(*, user: User, values: dict[str, Any]) -> EnterpriseVerification:
    pack, _ = pack_in_force()
    if pack.enterprise.source != EnterpriseSource.SELF_VERIFICATION or not pack.forms.enterprise:
        raise NotAllowed("verification_not_offered", "本中心的企业信息来自交易平台，无需提交企业认证")
    clean = form_clean(pack=pack, fields=list(pack.forms.enterprise), values=dict(values), defaults={})
    for name, upload_id in clean.uploads.items():
        if not Upload.objects.filter(pk=upload_id, owner=user, purpose=name).exists():
            raise InvalidInput("upload_not_found", "上传的文件不存在", field=name, label=clean.labels.get(name))
    data = clean.data
    details = {k: data[k] for k in ("enterprise_nature", "enterprise_location", "enterprise_address") if k in data}
    try:
        with transaction.atomic():
            verification = EnterpriseVerification.objects.create(
                user=user,
                enterprise_name=str(data.get("enterprise_name", "")),
                uscc=str(data.get("enterprise_uscc", "")),
                legal_rep_name=str(data.get("legal_rep_name", "")),
                legal_rep_id_type=str(data.get("legal_rep_id_type", "")),
                legal_rep_id_number=clean.private.get("legal_rep_id_number", ""),
                licence_id=clean.uploads["business_licence"],
                details=details,
            )
            account_event_record(
                user=user,
                kind="enterprise_verification_submit",
                actor_label=user.get_username(),
                to_state=State.PENDING,
                data={"verification_id": verification.pk, "uscc": verification.uscc},
            )
    except IntegrityError as exc:
        raise Conflict("verification_pending", "已有企业认证申请正在审核中，请耐心等待") from exc
    if not pack.enterprise.manual_review:
        verification = enterprise_verification_review(
            verification_id=verification.pk, approve=True, reason="", actor_kind="system", actor_label="系统自动审核"
        )
    return verification


def enterprise_verification_review(
    *, verification_id: int, approve: bool, reason: str, actor_kind: str, actor_label: str
) -> EnterpriseVerification:
    reason = (reason or "").strip()
    if not approve and not reason:
        raise InvalidInput("required", "驳回时请填写审核意见", field="reason", label="审核意见")
    with transaction.atomic():
        verification = EnterpriseVerification.objects.select_for_update().filter(pk=verification_id).first()
        if verification is None:
            raise NotFound("verification_not_found", "企业认证申请不存在")
        if verification.state != State.PENDING:
            raise Conflict("verification_reviewed", "该申请已审核，不能重复审核")
        verification.state = State.APPROVED if approve else State.REJECTED
        verification.reason = reason[:500]
        verification.reviewed_at = timezone.now()
        verification.reviewed_by = actor_label[:200]
        verification.save()
        if approve:
            _enterprise_take(verification)
        account_event_record(
            user=verification.user,
            kind="enterprise_verification_review",
            actor_kind=actor_kind,
            actor_label=actor_label,
            from_state=State.PENDING,
            to_state=verification.state,
            reason=reason,
            data={"verification_id": verification.pk},
        )
    return verification


def _enterprise_take(verification: EnterpriseVerification) -> None:
    """Approved: the enterprise carries the verified data and the account acts for it."""
    details = verification.details
    enterprise, _ = Enterprise.objects.select_for_update().get_or_create(
        uscc=verification.uscc, defaults={"name": verification.enterprise_name}
    )
    enterprise.name = verification.enterprise_name
    enterprise.legal_rep_name = verification.legal_rep_name
    enterprise.legal_rep_id_type = verification.legal_rep_id_type
    enterprise.legal_rep_id_number = verification.legal_rep_id_number
    enterprise.nature = str(details.get("enterprise_nature", enterprise.nature))
    enterprise.location = str(details.get("enterprise_location", enterprise.location))
    enterprise.address = str(details.get("enterprise_address", enterprise.address))
    enterprise.verification = Enterprise.Verification.VERIFIED
    enterprise.source = EnterpriseSource.SELF_VERIFICATION.value
    enterprise.synced_at = timezone.now()
    enterprise.save()
    Upload.objects.filter(owner=verification.user, enterprise__isnull=True).update(enterprise=enterprise)
    phone = UserPhone.objects.filter(user=verification.user).values_list("phone", flat=True).first() or ""
    Operator.objects.update_or_create(
        user=verification.user,
        defaults={"enterprise": enterprise},
        create_defaults={"enterprise": enterprise, "phone": phone, "name": verification.operator_name},
    )
