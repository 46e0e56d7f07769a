"""The centre's own staff: accounts of this centre's schema with ``is_staff``, who sign in with a
phone and a password (whatever login methods the pack offers bidders) and review work on the
staff pages. Each change writes an ``AccountEvent``."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from baohan.guarantees.errors import InvalidInput
from baohan.guarantees.forms import phone_clean
from baohan.guarantees.states import Actor, ActorKind
from baohan.identity.fields import mask_phone
from baohan.identity.models import UserPhone
from baohan.identity.services.accounts import account_event_record

PASSWORD_MIN_LENGTH = 10
STAFF_LABEL = "中心工作人员"


@dataclass(frozen=True)
class StaffAccount:
    user: User
    phone: str
    created: bool


def staff_password_generate() -> str:
    """A random password of 16 URL-safe characters, to be shown once."""
    return secrets.token_urlsafe(12)


def _password_checked(password: str, user: User | None) -> str:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            "weak_password", f"工作人员密码至少{PASSWORD_MIN_LENGTH}个字符", field="password", label="密码"
        )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput("weak_password", "；".join(exc.messages), field="password", label="密码") from exc
    return password


@transaction.atomic
def staff_account_upsert(
    *,
    phone: str,
    password: str | None,
    name: str = "",
    active: bool = True,
    actor_label: str = "系统",
    issuer_staff: bool = False,
) -> StaffAccount:
    """Create the staff account signing in with ``phone``, or update it (name, active, password).

    ``password`` is required for a new account; ``None`` keeps an existing account's password.
    A phone already used by a bidder's account is refused: one person, one role per phone. So is a
    phone of an issuer's staff, unless ``issuer_staff`` (the issuer workbench's own accounts, made
    through ``baohan.issuerdesk``, which binds the account to its issuer)."""
    try:
        phone = phone_clean(phone)
    except ValueError as exc:
        raise InvalidInput("invalid", str(exc), field="phone", label="手机号码") from exc
    name = name.strip()[:150]
    row = UserPhone.objects.select_related("user").select_for_update().filter(phone=phone).first()
    if row is not None and not row.user.is_staff:
        raise InvalidInput("phone_taken", "该手机号已被投标人账户使用，请换一个手机号", field="phone", label="手机号码")
    if row is not None and not issuer_staff and hasattr(row.user, "issuer_member"):
        raise InvalidInput(
            "phone_taken", "该手机号已是出函机构工作人员账户，请换一个手机号", field="phone", label="手机号码"
        )
    created = row is None
    if row is None:
        if password is None:
            raise InvalidInput("required", "新建工作人员账户时请设置密码", field="password", label="密码")
        user = User(username=f"staff-{uuid.uuid4().hex[:12]}", is_staff=True)
    else:
        user = row.user
    if password is not None:
        user.set_password(_password_checked(password, None if created else user))
    if name or created:
        user.first_name = name
    user.is_staff = True
    user.is_superuser = False
    user.is_active = active
    user.save()
    if row is None:
        UserPhone.objects.create(user=user, phone=phone, verified=True)
    account_event_record(
        user=user,
        kind="staff_account_create" if created else "staff_account_update",
        actor_kind="system",
        actor_label=actor_label,
        to_state="active" if active else "inactive",
        data={"phone": mask_phone(phone), "password_set": password is not None},
    )
    return StaffAccount(user=user, phone=phone, created=created)


def is_staff_member(user: object) -> bool:
    """An active staff account of this centre (users live in each centre's own schema); an issuer's
    staff (bound to an issuer, see ``baohan.issuerdesk``) work on the issuer workbench only."""
    return (
        isinstance(user, User)
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and not hasattr(user, "issuer_member")
    )


def staff_actor(*, user: User) -> Actor:
    """Who staff act as in the workflows: events record the account and its name."""
    return Actor(ActorKind.STAFF, str(user.pk), user.get_full_name() or STAFF_LABEL)


def staff_login_record(*, user: User, path: str) -> None:
    account_event_record(
        user=user,
        kind="staff_login",
        actor_kind=ActorKind.STAFF.value,
        actor_label=staff_actor(user=user).label,
        data={"path": path[:200]},
    )
