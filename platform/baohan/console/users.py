"""Console page: a centre's staff accounts and its issuers' staff accounts.

Centre staff sign in at ``/staff/login/`` on the centre's host, issuer staff at ``/issuer/login/``
(then an SMS code). Both are accounts of the centre's own schema, made here through the same services
as the ``staff_user`` and ``issuer_user`` commands (``staff_account_upsert``, ``issuer_account_upsert``),
inside the centre's tenant context. A password is generated, never typed, and shown once on the page
the change redirects to (kept encrypted in the session until then). A change and its
``ConsoleAction`` commit together; a refusal changes nothing.

The centre's platform admins and its centre staff may manage these accounts; an issuer's staff may not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_tenants.utils import tenant_context

from baohan.console.access import centre_admin_check, console_page, tenant_for
from baohan.console.audit import console_action_record
from baohan.console.views import console_render
from baohan.guarantees.errors import DomainError
from baohan.identity.fields import decrypt, encrypt, mask_phone
from baohan.identity.models import UserPhone
from baohan.identity.services.sms import phone_checked
from baohan.identity.services.staff import staff_account_upsert, staff_password_generate
from baohan.issuerdesk.models import IssuerMember
from baohan.issuerdesk.services import issuer_account_upsert, issuer_of_pack
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack

PASSWORD_ONCE = "_console_password_once"  # noqa: S105 (a session key, not a secret)
PREFIX = "acct"

CENTRE = "centre"
ISSUER = "issuer"
KIND_ROLES = {CENTRE: "centre_staff", ISSUER: "issuer_staff"}  # the words of the action log (audit._ROLE_WORDS)
SIGN_IN_PATHS = {CENTRE: "/staff/login/", ISSUER: "/issuer/login/"}


def kind_label(kind: str) -> str:
    return _("出函机构工作人员") if kind == ISSUER else _("中心工作人员")


# --- who may ---------------------------------------------------------------------------------------------


def _managed(request: HttpRequest, code: str) -> Tenant:
    """The centre, if the user may manage its accounts: 404 for a centre they cannot see, 403 for an
    issuer's staff (they see the centre, not its people)."""
    tenant = tenant_for(request.user, code)
    centre_admin_check(request.user, tenant)
    return tenant


def _actor_label(request: HttpRequest) -> str:
    return f"控制台 {request.user.get_username()}"[:200]


def _issuers(tenant: Tenant) -> list[tuple[str, str]]:
    return [(issuer.code, issuer.name) for issuer in tenant_rule_pack(tenant=tenant).issuers]


# --- reads -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRow:
    pk: int
    name: str
    phone: str  # masked
    kind: str  # CENTRE or ISSUER
    issuer_code: str
    issuer_name: str
    active: bool
    last_login: datetime | None
    joined: datetime

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)


def accounts_list(*, issuers: list[tuple[str, str]]) -> list[AccountRow]:
    """The staff accounts of the current schema (centre staff first, then each issuer's in the pack's
    order), phones masked."""
    names = dict(issuers)
    order = {code: i for i, (code, _name) in enumerate(issuers)}
    rows = []
    for row in UserPhone.objects.filter(user__is_staff=True).select_related("user", "user__issuer_member"):
        user = row.user
        member: IssuerMember | None = getattr(user, "issuer_member", None)
        code = member.issuer_code if member else ""
        rows.append(
            AccountRow(
                pk=user.pk,
                name=user.get_full_name() or "—",
                phone=mask_phone(row.phone),
                kind=ISSUER if member else CENTRE,
                issuer_code=code,
                issuer_name=names.get(code, code),
                active=user.is_active,
                last_login=user.last_login,
                joined=user.date_joined,
            )
        )
    rows.sort(key=lambda r: (r.kind == ISSUER, order.get(r.issuer_code, len(order)), r.issuer_code, r.name, r.pk))
    return rows


@dataclass(frozen=True)
class Account:
    """One account as the services know it: the full phone stays on the server."""

    user: User
    phone: str
    issuer_code: str

    @property
    def kind(self) -> str:
        return ISSUER if self.issuer_code else CENTRE


def _account(tenant: Tenant, pk: int) -> Account:
    with tenant_context(tenant):
        row = UserPhone.objects.filter(user_id=pk, user__is_staff=True).select_related("user").first()
        if row is None:
            raise Http404(_("没有该账户"))
        member = IssuerMember.objects.filter(user_id=pk).first()
        return Account(user=row.user, phone=row.phone, issuer_code=member.issuer_code if member else "")


# --- changes through the services --------------------------------------------------------------------------


def _upsert(
    *, kind: str, issuer_code: str, phone: str, password: str | None, name: str, active: bool, actor: str
) -> None:
    if kind == ISSUER:
        if not active and issuer_of_pack(code=issuer_code) is None:
            # The issuer has left the centre's panel: its staff can still be switched off.
            staff_account_upsert(
                phone=phone, password=None, name=name, active=False, actor_label=actor, issuer_staff=True
            )
            return
        issuer_account_upsert(
            issuer_code=issuer_code, phone=phone, password=password, name=name, active=active, actor_label=actor
        )
    else:
        staff_account_upsert(phone=phone, password=password, name=name, active=active, actor_label=actor)


def _detail(*, kind: str, name: str, phone: str, issuer_code: str, issuers: list[tuple[str, str]]) -> dict[str, Any]:
    detail: dict[str, Any] = {"kind": KIND_ROLES[kind], "name": name, "phone": mask_phone(phone)}
    if kind == ISSUER:
        detail["issuer"] = issuer_code
        detail["issuer_name"] = dict(issuers).get(issuer_code, issuer_code)
    return detail


@dataclass(frozen=True)
class Saved:
    action: str
    detail: dict[str, Any]
    password: str | None


def account_save(
    *,
    kind: str,
    issuer_code: str,
    name: str,
    phone: str,
    new_password: bool,
    issuers: list[tuple[str, str]],
    actor: str,
) -> Saved:
    """Create the account of ``phone`` (with a generated password), or update its name (and, when
    asked, its password); in the current schema. An update keeps the account active or not."""
    phone = phone_checked(phone)
    row = UserPhone.objects.select_related("user").filter(phone=phone).first()
    existing = row.user if row is not None and row.user.is_staff else None
    password = staff_password_generate() if existing is None or new_password else None
    active = existing.is_active if existing is not None else True
    _upsert(kind=kind, issuer_code=issuer_code, phone=phone, password=password, name=name, active=active, actor=actor)
    detail = _detail(kind=kind, name=name, phone=phone, issuer_code=issuer_code, issuers=issuers)
    if existing is not None:
        detail["new_password"] = password is not None
    return Saved("user_account_update" if existing else "user_account_create", detail, password)


# --- the form ----------------------------------------------------------------------------------------------


class AccountForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("账户类型"),
        choices=[(CENTRE, gettext_lazy("中心工作人员")), (ISSUER, gettext_lazy("出函机构工作人员"))],
        error_messages={"required": gettext_lazy("请选择账户类型"), "invalid_choice": gettext_lazy("请选择账户类型")},
    )
    issuer = forms.ChoiceField(
        label=gettext_lazy("出函机构"),
        required=False,
        help_text=gettext_lazy("出函机构工作人员必选：该账户只能办理这家机构的业务。"),
        error_messages={"invalid_choice": gettext_lazy("请从列表中选择本中心的出函机构")},
    )
    name = forms.CharField(
        label=gettext_lazy("姓名"),
        max_length=150,
        help_text=gettext_lazy("记录在该账户的每一项操作上。"),
        error_messages={"required": gettext_lazy("请填写姓名"), "max_length": gettext_lazy("姓名不超过150个字符")},
    )
    phone = forms.CharField(
        label=gettext_lazy("手机号码"),
        max_length=20,
        help_text=gettext_lazy("用于登录；出函机构工作人员登录时还会收到短信验证码。已有账户的手机号将更新该账户。"),
        error_messages={"required": gettext_lazy("请填写手机号码"), "max_length": gettext_lazy("手机号码应为11位")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    new_password = forms.BooleanField(
        label=gettext_lazy("同时重新生成密码"),
        required=False,
        help_text=gettext_lazy("新账户总会生成密码；更新已有账户时勾选此项才会更换密码。"),
    )

    def __init__(self, *args: Any, issuers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        issuer = self.fields["issuer"]
        assert isinstance(issuer, forms.ChoiceField)
        issuer.choices = [("", _("—（中心工作人员不选）")), *issuers]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == ISSUER and not data.get("issuer"):
            self.add_error("issuer", _("出函机构工作人员请选择所属的出函机构"))
        if data.get("kind") == CENTRE:
            data["issuer"] = ""
        return data


# --- the page ------------------------------------------------------------------------------------------------


def _site(request: HttpRequest, tenant: Tenant) -> str:
    domain = tenant.domains.order_by("-is_primary", "domain").first()
    if domain is None:
        return ""
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    return f"{request.scheme}://{domain.domain}{suffix}"


def _password_flash(request: HttpRequest, *, tenant: Tenant, kind: str, name: str, phone: str, value: str) -> None:
    request.session[PASSWORD_ONCE] = {
        "tenant": tenant.code,
        "kind": kind,
        "name": name,
        "phone": mask_phone(phone),
        "value": encrypt(value),
    }


def _password_pop(request: HttpRequest, tenant: Tenant) -> dict[str, str] | None:
    once = request.session.pop(PASSWORD_ONCE, None)
    if not isinstance(once, dict) or once.get("tenant") != tenant.code:
        return None
    kind = str(once.get("kind", CENTRE))
    site = _site(request, tenant)
    return {
        **once,
        "value": decrypt(str(once["value"])),
        "kind_label": kind_label(kind),
        "login_url": f"{site}{SIGN_IN_PATHS.get(kind, SIGN_IN_PATHS[CENTRE])}" if site else "",
    }


def _page(request: HttpRequest, tenant: Tenant, form: AccountForm | None = None) -> HttpResponse:
    issuers = _issuers(tenant)
    with tenant_context(tenant):
        rows = accounts_list(issuers=issuers)
    context: dict[str, Any] = {
        "tenant": tenant,
        "rows": rows,
        "centre_count": sum(1 for r in rows if r.kind == CENTRE),
        "issuer_count": sum(1 for r in rows if r.kind == ISSUER),
        "form": form or AccountForm(prefix=PREFIX, issuers=issuers, initial={"kind": CENTRE}),
        "password_once": _password_pop(request, tenant),
        "site": _site(request, tenant),
    }
    response = console_render(request, "console/users.html", context, status=400 if form is not None else 200)
    add_never_cache_headers(response)  # a password shown once must not be kept by any cache
    return response


@console_page
@require_GET
def users(request: HttpRequest, code: str) -> HttpResponse:
    return _page(request, _managed(request, code))


_FORM_FIELDS = {"phone": "phone", "issuer": "issuer", "name": "name", "password": None}


@console_page
@require_POST
def user_save(request: HttpRequest, code: str) -> HttpResponse:
    tenant = _managed(request, code)
    issuers = _issuers(tenant)
    form = AccountForm(request.POST, prefix=PREFIX, issuers=issuers)
    if not form.is_valid():
        return _page(request, tenant, form)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            with tenant_context(tenant):
                saved = account_save(
                    kind=data["kind"],
                    issuer_code=data["issuer"],
                    name=data["name"].strip(),
                    phone=data["phone"],
                    new_password=data["new_password"],
                    issuers=issuers,
                    actor=_actor_label(request),
                )
            console_action_record(actor=request.user, action=saved.action, tenant=tenant, detail=saved.detail)
    except DomainError as exc:
        field = _FORM_FIELDS.get(exc.field or "")
        form.add_error(field, exc.message)
        return _page(request, tenant, form)
    if saved.password is not None:
        _password_flash(
            request, tenant=tenant, kind=data["kind"], name=data["name"], phone=data["phone"], value=saved.password
        )
    created = saved.action == "user_account_create"
    messages.success(request, _("账户已创建") if created else _("账户已更新"))
    return redirect("console:users", code=tenant.code)


def _row_change(
    request: HttpRequest, code: str, pk: int, *, action: str, password: bool, active: bool | None, done: str
) -> HttpResponse:
    """A button on one account's row: a new password (``active`` None keeps the account as it is), or
    the account switched off or on. A refusal is the page's message and changes nothing."""
    tenant = _managed(request, code)
    account = _account(tenant, pk)
    issuers = _issuers(tenant)
    name = account.user.get_full_name()
    value = staff_password_generate() if password else None
    try:
        with transaction.atomic():
            with tenant_context(tenant):
                _upsert(
                    kind=account.kind,
                    issuer_code=account.issuer_code,
                    phone=account.phone,
                    password=value,
                    name="",  # kept
                    active=account.user.is_active if active is None else active,
                    actor=_actor_label(request),
                )
            detail = _detail(
                kind=account.kind, name=name, phone=account.phone, issuer_code=account.issuer_code, issuers=issuers
            )
            console_action_record(actor=request.user, action=action, tenant=tenant, detail=detail)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("console:users", code=tenant.code)
    if value is not None:
        _password_flash(request, tenant=tenant, kind=account.kind, name=name, phone=account.phone, value=value)
    messages.success(request, done)
    return redirect("console:users", code=tenant.code)


@console_page
@require_POST
def user_password(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    return _row_change(
        request,
        code,
        pk,
        action="user_password_reset",
        password=True,
        active=None,
        done=_("已重新生成密码，原密码即刻失效"),
    )


@console_page
@require_POST
def user_active(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """``active=0`` switches the account off (it can no longer sign in), ``active=1`` on again."""
    on = request.POST.get("active") == "1"
    return _row_change(
        request,
        code,
        pk,
        action="user_reactivate" if on else "user_deactivate",
        password=False,
        active=on,
        done=_("账户已启用") if on else _("账户已停用，无法再登录"),
    )
