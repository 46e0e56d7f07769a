"""Issuer staff accounts and how they sign in and act.

An issuer account is a staff account of the centre's schema (made through ``staff_account_upsert``,
so bidders' sign-in and pages already refuse it) bound to one issuer of the centre's pack by an
``IssuerMember`` row, which keeps it off the centre staff's pages. It signs in at ``/issuer/login/``
with phone and password, then an SMS code sent to that phone. On the workbench it acts as its
issuer (the same scope as the issuer's API credential) and is recorded by name and organisation."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from baohan.guarantees.errors import InvalidInput
from baohan.guarantees.states import Actor, ActorKind
from baohan.identity.fields import mask_phone
from baohan.identity.models import SmsCode, UserPhone
from baohan.identity.services.accounts import account_event_record
from baohan.identity.services.sms import phone_checked, sms_code_issue, sms_code_verify
from baohan.identity.services.staff import staff_account_upsert
from baohan.issuerdesk.models import IssuerMember
from baohan.rulepacks.models import Issuer
from tenants.selectors import pack_in_force

SMS_PURPOSE = SmsCode.Purpose.ISSUER_LOGIN.value
ISSUER_STAFF_LABEL = "出函机构工作人员"


@dataclass(frozen=True)
class IssuerAccount:
    user: User
    phone: str
    issuer_code: str
    created: bool


def issuer_of_pack(*, code: str) -> Issuer | None:
    """The issuer ``code`` of the pack in force, or None when the centre's panel does not list it."""
    pack, _version = pack_in_force()
    return next((i for i in pack.issuers if i.code == code), None)


@transaction.atomic
def issuer_account_upsert(
    *,
    issuer_code: str,
    phone: str,
    password: str | None,
    name: str = "",
    active: bool = True,
    actor_label: str = "系统",
) -> IssuerAccount:
    """Create the account of an issuer's staff member signing in with ``phone``, or update it.

    The issuer must be on this centre's panel. A phone already used by a bidder, by the centre's
    staff or by another issuer's staff is refused: one person, one role per phone and centre."""
    issuer = issuer_of_pack(code=issuer_code.strip())
    if issuer is None:
        pack, _version = pack_in_force()
        known = "、".join(f"{i.code}（{i.short_name}）" for i in pack.issuers)
        raise InvalidInput("unknown_issuer", f"本中心没有出函机构 {issuer_code}；可选：{known}", field="issuer")
    phone = phone_checked(phone)
    row = UserPhone.objects.select_related("user").select_for_update().filter(phone=phone).first()
    member = IssuerMember.objects.filter(user=row.user).first() if row is not None else None
    if row is not None and row.user.is_staff and member is None:
        raise InvalidInput(
            "phone_taken", "该手机号已被中心工作人员账户使用，请换一个手机号", field="phone", label="手机号码"
        )
    if member is not None and member.issuer_code != issuer.code:
        raise InvalidInput(
            "phone_taken", "该手机号已是其他出函机构的工作人员账户，请换一个手机号", field="phone", label="手机号码"
        )
    account = staff_account_upsert(
        phone=phone, password=password, name=name, active=active, actor_label=actor_label, issuer_staff=True
    )
    if member is None:
        IssuerMember.objects.create(user=account.user, issuer_code=issuer.code)
    account_event_record(
        user=account.user,
        kind="issuer_account_create" if member is None else "issuer_account_update",
        actor_kind="system",
        actor_label=actor_label,
        to_state="active" if active else "inactive",
        data={"issuer": issuer.code, "phone": mask_phone(phone), "password_set": password is not None},
    )
    return IssuerAccount(user=account.user, phone=phone, issuer_code=issuer.code, created=member is None)


def issuer_member_of(user: object) -> IssuerMember | None:
    """The issuer binding of an active account of this centre, or None (anyone else)."""
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active or not user.is_staff:
        return None
    member = getattr(user, "_issuer_member_cache", None)
    if member is None:
        member = IssuerMember.objects.filter(user=user).first()
        user._issuer_member_cache = member  # type: ignore[attr-defined]
    return member


def issuer_actor(*, user: User, issuer: Issuer) -> Actor:
    """The issuer's scope, recorded as the person: 「李核保（紫金财产保险股份有限公司）」."""
    return Actor.issuer_person(issuer_code=issuer.code, name=user.get_full_name(), organisation=issuer.name)


# --- signing in: password, then an SMS code to the account's phone ------------------------------------


def issuer_login_code_send(*, phone: str, client: str | None = None) -> None:
    """Text the second factor to the account's phone (the SMS service's limits apply)."""
    sms_code_issue(phone=phone, purpose=SMS_PURPOSE, client=client)


def issuer_login_code_check(*, phone: str, code: str) -> None:
    """Accept the code once, or raise naming the field ``code``."""
    sms_code_verify(phone=phone, purpose=SMS_PURPOSE, code=code, field="code")


def issuer_login_record(*, user: User, issuer: Issuer, path: str) -> None:
    account_event_record(
        user=user,
        kind="issuer_login",
        actor_kind=ActorKind.ISSUER.value,
        actor_label=issuer_actor(user=user, issuer=issuer).label,
        data={"path": path[:200], "issuer": issuer.code},
    )
