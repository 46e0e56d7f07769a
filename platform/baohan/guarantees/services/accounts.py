"""Bidder accounts: a login, its operator and the enterprise it acts for.

Accounts made here (demo data, staff) sign in with their phone and password where the pack
offers it; the centre-specific logins (SMS, CA key, hand-off) live in ``baohan.identity``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction

from baohan.guarantees.errors import Conflict, InvalidInput
from baohan.guarantees.forms import bank_account_clean, phone_clean, uscc_clean
from baohan.guarantees.models import Enterprise, Operator
from baohan.identity.models import UserPhone


def bidder_register(
    *,
    username: str,
    password: str,
    enterprise_name: str,
    uscc: str,
    operator_name: str,
    phone: str,
    email: str = "",
    basic_account_name: str = "",
    basic_bank_name: str = "",
    basic_account_number: str = "",
) -> Operator:
    try:
        uscc = uscc_clean(uscc)
    except ValueError as exc:
        raise InvalidInput("invalid", str(exc), field="uscc", label="统一社会信用代码") from exc
    try:
        phone = phone_clean(phone)
    except ValueError as exc:
        raise InvalidInput("invalid", str(exc), field="phone", label="手机号码") from exc
    if basic_account_number:
        try:
            basic_account_number = bank_account_clean(basic_account_number)
        except ValueError as exc:
            raise InvalidInput("invalid", str(exc), field="basic_account_number", label="基本户账号") from exc
    if not enterprise_name.strip():
        raise InvalidInput("required", "请填写企业名称", field="enterprise_name", label="企业名称")
    user_model = get_user_model()
    with transaction.atomic():
        if user_model.objects.filter(username=username).exists():
            raise Conflict("username_taken", "用户名已被使用", field="username")
        enterprise, _ = Enterprise.objects.get_or_create(
            uscc=uscc,
            defaults={
                "name": enterprise_name.strip(),
                "basic_account_name": basic_account_name or enterprise_name.strip(),
                "basic_bank_name": basic_bank_name,
                "basic_account_number": basic_account_number,
                "verification": Enterprise.Verification.VERIFIED,
                "source": "register",
            },
        )
        user = user_model.objects.create_user(username=username, password=password)
        assert isinstance(user, AbstractUser)
        UserPhone.objects.create(user=user, phone=phone, verified=True)
        return Operator.objects.create(user=user, enterprise=enterprise, name=operator_name, phone=phone, email=email)


VERIFY_WHERE = "用户中心 → 企业信息认证"


def enterprise_not_verified_message(*, user: object) -> str:
    """Why an account cannot apply yet and what to do next, by where its 企业信息认证 stands."""
    from django.contrib.auth.models import User

    from baohan.identity.models import EnterpriseVerification
    from baohan.rulepacks.models import EnterpriseSource
    from tenants.selectors import pack_in_force

    pack, _ = pack_in_force()
    if pack.enterprise.source != EnterpriseSource.SELF_VERIFICATION:
        return "该账户尚未关联投标企业，请按本中心的登录方式重新登录后再申请保函"
    latest = (
        EnterpriseVerification.objects.filter(user=user).order_by("-submitted_at", "-id").first()
        if isinstance(user, User)
        else None
    )
    if latest is None:
        return f"企业信息尚未认证：请先在「{VERIFY_WHERE}」提交企业信息，审核通过后即可申请保函"
    if latest.state == EnterpriseVerification.State.PENDING:
        return f"企业信息认证审核中：审核通过后即可申请保函，可在「{VERIFY_WHERE}」查看审核进度"
    if latest.state == EnterpriseVerification.State.REJECTED:
        reason = f"（{latest.reason}）" if latest.reason else ""
        return f"企业信息认证未通过{reason}：请在「{VERIFY_WHERE}」修改后重新提交"
    return f"企业信息认证尚未生效，请在「{VERIFY_WHERE}」查看认证状态"
