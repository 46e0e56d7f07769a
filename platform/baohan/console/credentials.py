"""Console pages: a centre's integration credentials (API credentials of the centre and its
issuers, hand-off keys, trusted CA roots, SMS and Stripe settings).

Views parse and check access, then call the services in the centre's schema
(``tenant_context``). A change and its ``ConsoleAction`` commit together. A new secret is shown
once, on the page the change redirects to (kept encrypted in the session until then).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_tenants.utils import tenant_context

from baohan.console.access import centre_admin_check, console_page, issuer_codes_of, tenant_for
from baohan.console.audit import console_action_record
from baohan.console.forms_credentials import (
    CaRootForm,
    CredentialCreateForm,
    HandoffKeyAddForm,
    HandoffKeyRotateForm,
    OverlapForm,
    SmsSettingsForm,
    StripeSettingsForm,
)
from baohan.console.views import console_render
from baohan.guarantees.errors import DomainError
from baohan.guarantees.models import ApiCredential
from baohan.guarantees.services.credentials import (
    credential_issue,
    credential_revoke,
    credential_rotate,
    credentials_list,
)
from baohan.identity.fields import decrypt, encrypt
from baohan.identity.models import HandoffKey, IntegrationSetting
from baohan.identity.services.integrations import (
    integration_settings_clear,
    integration_settings_shown,
    sms_settings_current,
    sms_settings_set,
    stripe_settings_set,
)
from baohan.identity.services.keys import (
    ca_root_add,
    ca_root_remove,
    ca_roots_list,
    handoff_key_add,
    handoff_key_revoke,
    handoff_key_rotate,
    handoff_keys_list,
)
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack

SECRET_ONCE = "_console_secret_once"  # noqa: S105 (a session key, not a secret)


@dataclass(frozen=True)
class Access:
    tenant: Tenant
    manages: bool  # the centre's admin: everything; else an issuer's staff: its own credentials
    issuer_codes: list[str] | None


def _access(user: User | AnonymousUser, code: str) -> Access:
    tenant = tenant_for(user, code)
    try:
        centre_admin_check(user, tenant)
    except PermissionDenied:
        return Access(tenant=tenant, manages=False, issuer_codes=issuer_codes_of(user, tenant) or [])
    return Access(tenant=tenant, manages=True, issuer_codes=None)


def _managing(user: User | AnonymousUser, code: str) -> Access:
    access = _access(user, code)
    if not access.manages:
        raise PermissionDenied(_("没有修改该交易中心的权限"))
    return access


def _actor_label(request: HttpRequest) -> str:
    return request.user.get_username() if request.user.is_authenticated else ""


def _issuers(tenant: Tenant) -> list[tuple[str, str]]:
    return [(issuer.code, issuer.name) for issuer in tenant_rule_pack(tenant=tenant).issuers]


def _secret_flash(request: HttpRequest, *, tenant: Tenant, title: str, value: str, key_id: str = "") -> None:
    request.session[SECRET_ONCE] = {"tenant": tenant.code, "title": title, "key_id": key_id, "value": encrypt(value)}


def _secret_pop(request: HttpRequest, tenant: Tenant) -> dict[str, str] | None:
    once = request.session.pop(SECRET_ONCE, None)
    if not isinstance(once, dict) or once.get("tenant") != tenant.code:
        return None
    return {**once, "value": decrypt(str(once["value"]))}


# --- the page ----------------------------------------------------------------------------------------


def _page(request: HttpRequest, access: Access, bound: dict[str, forms.Form] | None = None) -> HttpResponse:
    """The page; ``bound`` holds a refused form (by prefix) to show again with its errors (status 400)."""
    bound = bound or {}
    tenant = access.tenant
    issuers = _issuers(tenant)
    names = dict(issuers)
    context: dict[str, Any] = {"tenant": tenant, "manages": access.manages}
    with tenant_context(tenant):
        rows = credentials_list(issuer_codes=access.issuer_codes)
        context["credentials"] = [
            {
                "row": row,
                "issuer_name": names.get(row.credential.issuer_code, row.credential.issuer_code),
                "form": bound.get(f"rot{row.credential.pk}") or OverlapForm(prefix=f"rot{row.credential.pk}"),
            }
            for row in rows
        ]
        if access.manages:
            context["handoff_keys"] = [
                {"row": row, "form": bound.get(f"hrot{row.key.pk}") or HandoffKeyRotateForm(prefix=f"hrot{row.key.pk}")}
                for row in handoff_keys_list()
            ]
            context["ca_roots"] = ca_roots_list()
            context["sms_shown"] = integration_settings_shown(kind=IntegrationSetting.Kind.SMS)
            context["stripe_shown"] = integration_settings_shown(kind=IntegrationSetting.Kind.STRIPE)
            sms_initial = sms_settings_current()
    if access.manages:
        context["api_form"] = bound.get("api") or CredentialCreateForm(prefix="api", issuers=issuers)
        context["handoff_form"] = bound.get("hk") or HandoffKeyAddForm(prefix="hk")
        context["ca_form"] = bound.get("ca") or CaRootForm(prefix="ca")
        context["sms_form"] = bound.get("sms") or SmsSettingsForm(prefix="sms", initial=sms_initial)
        context["stripe_form"] = bound.get("stripe") or StripeSettingsForm(prefix="stripe")
        context["sms_platform"] = str(settings.SMS_PROVIDER.get("provider") or "")
        context["stripe_platform"] = _("平台的 Stripe 账户") if settings.STRIPE_SECRET_KEY else ""
    context["secret_once"] = _secret_pop(request, tenant)
    response = console_render(request, "console/credentials.html", context, status=400 if bound else 200)
    add_never_cache_headers(response)  # a secret shown once must not be kept by any cache
    return response


@console_page
@require_GET
def credentials(request: HttpRequest, code: str) -> HttpResponse:
    return _page(request, _access(request.user, code))


# --- changes -------------------------------------------------------------------------------------------


def _refused(form: forms.Form, exc: DomainError, fields: dict[str, str] | None = None) -> None:
    """Put a service's refusal beside the field it names (``fields`` maps service names to the form's)."""
    name = (fields or {}).get(exc.field or "", exc.field or "")
    form.add_error(name if name in form.fields else None, exc.message)


def _apply(
    request: HttpRequest,
    access: Access,
    *,
    form: forms.Form,
    prefix: str,
    action: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    done: str,
    fields: dict[str, str] | None = None,
) -> HttpResponse:
    """Validate ``form``, run ``change`` in the centre's schema and record the action, together.

    ``change`` returns the action's detail; a ``secret`` (title, value, key id) in it is shown once."""
    if form.is_valid():
        try:
            with transaction.atomic():
                with tenant_context(access.tenant):
                    detail = change(form.cleaned_data)
                secret = detail.pop("secret", None)
                console_action_record(actor=request.user, action=action, tenant=access.tenant, detail=detail)
        except DomainError as exc:
            if not form.fields:  # a button without inputs: the refusal is the page's message
                messages.error(request, exc.message)
                return redirect("console:credentials", code=access.tenant.code)
            _refused(form, exc, fields)
        else:
            if secret is not None:
                title, value, key_id = secret
                _secret_flash(request, tenant=access.tenant, title=title, value=value, key_id=key_id)
            messages.success(request, done)
            return redirect("console:credentials", code=access.tenant.code)
    return _page(request, access, {prefix: form})


def _credential_visible(access: Access, pk: int) -> ApiCredential:
    with tenant_context(access.tenant):
        qs = ApiCredential.objects.filter(pk=pk)
        if access.issuer_codes is not None:
            qs = qs.filter(kind=ApiCredential.Kind.ISSUER, issuer_code__in=access.issuer_codes)
        credential = qs.first()
    if credential is None:
        raise Http404(_("没有该凭证"))
    return credential


def _detail(credential: ApiCredential) -> dict[str, Any]:
    return {"kind": credential.kind, "issuer": credential.issuer_code, "key_id": credential.key_id}


@console_page
@require_POST
def credential_create(request: HttpRequest, code: str) -> HttpResponse:
    access = _managing(request.user, code)
    form = CredentialCreateForm(request.POST, prefix="api", issuers=_issuers(access.tenant))
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        credential, token = credential_issue(
            kind=data["kind"], issuer_code=data["issuer_code"], label=data["label"], actor_label=actor
        )
        return {**_detail(credential), "secret": (_("新的接口凭证"), token, credential.key_id)}

    return _apply(
        request, access, form=form, prefix="api", action="api_credential_create", change=change, done=_("凭证已创建")
    )


def _rotate_page(request: HttpRequest, access: Access, *, form: forms.Form, title: str) -> HttpResponse:
    """Rotation on a page of its own: where the page's dialog cannot open (no script)."""
    context = {"tenant": access.tenant, "form": form, "title": title}
    return console_render(request, "console/credentials_rotate.html", context)


@console_page
@require_http_methods(["GET", "POST"])
def credential_rotate_view(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    access = _access(request.user, code)
    old = _credential_visible(access, pk)
    if request.method == "GET":
        title = _("轮换接口凭证 %(key)s") % {"key": old.key_id}
        return _rotate_page(request, access, form=OverlapForm(prefix=f"rot{pk}"), title=title)
    form = OverlapForm(request.POST, prefix=f"rot{pk}")
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        new, token = credential_rotate(credential_id=old.pk, overlap_hours=data["overlap_hours"], actor_label=actor)
        old.refresh_from_db()
        return {
            **_detail(old),
            "new_key_id": new.key_id,
            "overlap_hours": data["overlap_hours"],
            "expires_at": old.expires_at.isoformat() if old.expires_at else None,
            "secret": (_("轮换后的新接口凭证"), token, new.key_id),
        }

    return _apply(
        request,
        access,
        form=form,
        prefix=f"rot{pk}",
        action="api_credential_rotate",
        change=change,
        done=_("凭证已轮换：过渡期内新旧凭证均可使用"),
    )


@console_page
@require_POST
def credential_revoke_view(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    access = _managing(request.user, code)
    credential = _credential_visible(access, pk)
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        credential_revoke(credential_id=credential.pk, actor_label=actor)
        return _detail(credential)

    return _apply(
        request,
        access,
        form=forms.Form(request.POST),
        prefix="",
        action="api_credential_revoke",
        change=change,
        done=_("凭证已停用"),
    )


# --- hand-off keys and CA roots --------------------------------------------------------------------------


@console_page
@require_POST
def handoff_add(request: HttpRequest, code: str) -> HttpResponse:
    access = _managing(request.user, code)
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        key, secret = handoff_key_add(key_id=data["key_id"], secret=data["secret"], actor_label=actor)
        return {"key_id": key.key_id, "secret": (_("新的跳转登录密钥"), secret, key.key_id)}

    return _apply(
        request,
        access,
        form=HandoffKeyAddForm(request.POST, prefix="hk"),
        prefix="hk",
        action="handoff_key_add",
        change=change,
        done=_("跳转登录密钥已添加"),
    )


def _handoff_key(access: Access, pk: int) -> HandoffKey:
    with tenant_context(access.tenant):
        key = HandoffKey.objects.filter(pk=pk).first()
    if key is None:
        raise Http404(_("没有该密钥"))
    return key


@console_page
@require_http_methods(["GET", "POST"])
def handoff_rotate(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    access = _managing(request.user, code)
    old = _handoff_key(access, pk)
    if request.method == "GET":
        title = _("轮换跳转登录密钥 %(key)s") % {"key": old.key_id}
        return _rotate_page(request, access, form=HandoffKeyRotateForm(prefix=f"hrot{pk}"), title=title)
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        new, secret = handoff_key_rotate(
            key_pk=old.pk, overlap_hours=data["overlap_hours"], new_key_id=data["new_key_id"], actor_label=actor
        )
        old.refresh_from_db()
        return {
            "key_id": old.key_id,
            "new_key_id": new.key_id,
            "overlap_hours": data["overlap_hours"],
            "retire_at": old.retire_at.isoformat() if old.retire_at else None,
            "secret": (_("轮换后的新跳转登录密钥"), secret, new.key_id),
        }

    return _apply(
        request,
        access,
        form=HandoffKeyRotateForm(request.POST, prefix=f"hrot{pk}"),
        prefix=f"hrot{pk}",
        action="handoff_key_rotate",
        change=change,
        done=_("跳转登录密钥已轮换：过渡期内新旧密钥均可使用"),
        fields={"key_id": "new_key_id"},
    )


@console_page
@require_POST
def handoff_revoke(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    access = _managing(request.user, code)
    key = _handoff_key(access, pk)
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        handoff_key_revoke(key_pk=key.pk, actor_label=actor)
        return {"key_id": key.key_id}

    return _apply(
        request,
        access,
        form=forms.Form(request.POST),
        prefix="",
        action="handoff_key_revoke",
        change=change,
        done=_("跳转登录密钥已停用"),
    )


@console_page
@require_POST
def ca_add(request: HttpRequest, code: str) -> HttpResponse:
    access = _managing(request.user, code)
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        root = ca_root_add(name=data["name"], pem=data["pem"], actor_label=actor)
        return {"name": root.name, "fingerprint_sha256": root.fingerprint_sha256}

    return _apply(
        request,
        access,
        form=CaRootForm(request.POST, prefix="ca"),
        prefix="ca",
        action="ca_root_add",
        change=change,
        done=_("根证书已添加"),
    )


@console_page
@require_POST
def ca_remove(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    access = _managing(request.user, code)
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        root = ca_root_remove(root_id=pk, actor_label=actor)
        return {"name": root.name, "fingerprint_sha256": root.fingerprint_sha256}

    return _apply(
        request,
        access,
        form=forms.Form(request.POST),
        prefix="",
        action="ca_root_remove",
        change=change,
        done=_("根证书已移除"),
    )


# --- SMS and Stripe settings -----------------------------------------------------------------------------


@console_page
@require_POST
def sms_set(request: HttpRequest, code: str) -> HttpResponse:
    access = _managing(request.user, code)
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        changed = sms_settings_set(**data, actor_label=actor)
        return {"provider": data["provider"], "changed": changed}

    return _apply(
        request,
        access,
        form=SmsSettingsForm(request.POST, prefix="sms"),
        prefix="sms",
        action="sms_settings_set",
        change=change,
        done=_("短信服务配置已保存"),
    )


@console_page
@require_POST
def stripe_set(request: HttpRequest, code: str) -> HttpResponse:
    access = _managing(request.user, code)
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        changed = stripe_settings_set(**data, actor_label=actor)
        return {"changed": changed, "overlap_hours": data["overlap_hours"]}

    return _apply(
        request,
        access,
        form=StripeSettingsForm(request.POST, prefix="stripe"),
        prefix="stripe",
        action="stripe_settings_set",
        change=change,
        done=_("Stripe 配置已保存"),
    )


@console_page
@require_POST
def settings_clear(request: HttpRequest, code: str, kind: str) -> HttpResponse:
    access = _managing(request.user, code)
    if kind not in IntegrationSetting.Kind.values:
        raise Http404(_("没有该类配置"))
    actor = _actor_label(request)

    def change(data: dict[str, Any]) -> dict[str, Any]:
        return {"integration": kind, "changed": integration_settings_clear(kind=kind, actor_label=actor)}

    return _apply(
        request,
        access,
        form=forms.Form(request.POST),
        prefix="",
        action=f"{kind}_settings_clear",
        change=change,
        done=_("已恢复使用平台默认配置"),
    )
