"""Sign-in pages that are not allauth's own: the chooser, SMS password reset, the CA-key login,
the hand-off from the trading platform, the bidder's account and 企业信息认证, and dev pages."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from allauth.account import app_settings as allauth_settings
from allauth.account import forms as allauth_forms
from allauth.account.utils import perform_login
from allauth.utils import get_form_class
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods, require_POST

from baohan.guarantees.api.errors import body
from baohan.guarantees.errors import DomainError
from baohan.guarantees.forms import field_choices
from baohan.guarantees.models import Operator
from baohan.guarantees.services.uploads import upload_store
from baohan.identity.certificates import CertificateRefused, certificate_load
from baohan.identity.clients import client_address
from baohan.identity.fields import mask_phone
from baohan.identity.forms import PasswordResetConfirmForm, PasswordResetRequestForm, human_check_required
from baohan.identity.lockout import login_failure_record, login_failures_reset, login_locked_check
from baohan.identity.login_methods import login_choices
from baohan.identity.models import SmsMessage, UserPhone
from baohan.identity.services.accounts import password_reset_by_code, password_reset_code_send
from baohan.identity.services.logins import (
    LoginRefused,
    ca_account_take,
    ca_challenge_text,
    ca_login_verify,
    ca_nonce_issue,
    handoff_account_take,
    handoff_verify,
)
from baohan.identity.services.signup import signup_code_send
from baohan.identity.services.verification import enterprise_verification_submit, verification_latest
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldKind
from baohan.rulepacks.models import EnterpriseSource, LoginMethod
from tenants.db import connection
from tenants.selectors import pack_in_force

log = logging.getLogger("baohan.identity")
RESET_PHONE_KEY = "_baohan_reset_phone"
CA_NONCE_KEY = "_baohan_ca_nonce"


@ensure_csrf_cookie
def login_choice(request: HttpRequest) -> HttpResponse:
    """登录: a centre with phone sign-in shows its first way in (密码登录, else 验证码登录) right here;
    CA-key and hand-off centres explain theirs and link to the trading platform."""
    pack, _ = pack_in_force()
    methods = set(pack.login.methods)
    password_form = code_form = None
    if LoginMethod.PASSWORD in methods:
        password_form = get_form_class(allauth_settings.FORMS, "login", allauth_forms.LoginForm)(request=request)
    elif LoginMethod.SMS_CODE in methods:
        code_form = get_form_class(allauth_settings.FORMS, "request_login_code", allauth_forms.RequestLoginCodeForm)()
    return render(
        request,
        "identity/login.html",
        {
            "password_form": password_form,
            "code_form": code_form,
            "login_choices": login_choices(pack),
            "offers_password": LoginMethod.PASSWORD in methods,
            "offers_sms": LoginMethod.SMS_CODE in methods,
            "offers_ca": LoginMethod.CA_KEY in methods,
            "offers_handoff": LoginMethod.PLATFORM_HANDOFF in methods,
            "ca_config": pack.login.ca_key,
            "handoff_config": pack.login.handoff,
            "next": request.GET.get("next", ""),
            "debug_pages": settings.DEBUG,
        },
    )


# --- 新用户注册: 获取验证码 ----------------------------------------------------------------------------


@require_POST
def signup_code(request: HttpRequest) -> JsonResponse:
    """The code of 新用户注册, sent once the picture check is passed, to a phone not yet registered here."""
    pack, _ = pack_in_force()
    if not pack.login.self_registration:
        raise Http404("本中心不提供注册")
    try:
        phone, code = signup_code_send(
            phone=request.POST.get("phone", ""),
            captcha_key=request.POST.get("captcha_key", ""),
            captcha=request.POST.get("captcha", ""),
            human_check=human_check_required(),
            client=client_address(request),
        )
    except DomainError as exc:
        return _json_error(exc)
    return JsonResponse(
        {
            "phone": mask_phone(phone),
            "expires_at": code.expires_at,
            "resend_seconds": settings.SMS_SEND_INTERVAL_SECONDS,
        },
        status=201,
    )


# --- password reset by SMS (忘记密码) ------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            password_reset_code_send(phone=phone, client=client_address(request))
        except DomainError as exc:
            form.add_error("phone", exc.message)
        else:
            request.session[RESET_PHONE_KEY] = phone  # the next page says where the code went
            return redirect("identity_password_reset_confirm")
    return render(request, "identity/password_reset.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest) -> HttpResponse:
    phone = request.session.get(RESET_PHONE_KEY)
    if not phone:
        return redirect("identity_password_reset")
    form = PasswordResetConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            login_locked_check(request=request, identity=phone)
            password_reset_by_code(phone=phone, code=form.cleaned_data["code"], password=form.cleaned_data["password1"])
        except DomainError as exc:
            if exc.code == "sms_code_wrong":
                login_failure_record(request=request, identity=phone)
            form.add_error("code", exc.message)
        else:
            del request.session[RESET_PHONE_KEY]
            messages.success(request, "密码已重置，请使用新密码登录")
            return redirect("account_login")
    return render(request, "identity/password_reset_confirm.html", {"form": form, "phone": mask_phone(phone)})


# --- CA key --------------------------------------------------------------------------------------------


def _json_error(exc: DomainError) -> JsonResponse:
    return JsonResponse(body(exc.code, exc.message, exc.field, exc.label), status=exc.status)


@require_POST
def ca_challenge(request: HttpRequest) -> JsonResponse:
    try:
        nonce = ca_nonce_issue()
    except DomainError as exc:
        return _json_error(exc)
    request.session[CA_NONCE_KEY] = nonce.nonce  # answered from the browser that asked, or not at all
    return JsonResponse(
        {"nonce": nonce.nonce, "challenge": ca_challenge_text(nonce=nonce.nonce), "expires_at": nonce.expires_at}
    )


def _certificate_key(certificate: str) -> str:
    """Failures count against the certificate, however it is encoded."""
    try:
        der = certificate_load(data=certificate).public_bytes(serialization.Encoding.DER)
    except CertificateRefused:
        der = certificate.encode()
    return "cert:" + hashlib.sha256(der).hexdigest()


@require_POST
def ca_login(request: HttpRequest) -> HttpResponse:
    try:
        answer = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        answer = None
    if not isinstance(answer, dict):
        return JsonResponse(body("invalid", "请求格式错误"), status=400)
    certificate = str(answer.get("certificate") or "")
    intermediates = answer.get("intermediates") or []
    if not isinstance(intermediates, list):
        intermediates = []
    identity_key = _certificate_key(certificate)
    try:
        signature = base64.b64decode(str(answer.get("signature") or ""), validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    nonce = str(answer.get("nonce") or "")
    if not nonce or request.session.pop(CA_NONCE_KEY, None) != nonce:
        return _json_error(LoginRefused("nonce_invalid", "登录请求已失效或已使用，请刷新页面后重试", field="nonce"))
    try:
        login_locked_check(request=request, identity=identity_key)
        identity = ca_login_verify(
            nonce=nonce,
            certificate=certificate,
            signature=signature,
            intermediates=[str(c) for c in intermediates],
        )
    except DomainError as exc:
        if exc.code not in {"nonce_invalid", "locked"}:  # only a presented certificate's failures count
            login_failure_record(request=request, identity=identity_key)
        return _json_error(exc)
    login_failures_reset(request=request, identity=identity_key)
    user = ca_account_take(identity=identity)
    perform_login(request, user, redirect_url=settings.LOGIN_REDIRECT_URL)
    return JsonResponse({"redirect": settings.LOGIN_REDIRECT_URL, "enterprise": identity.name})


# --- hand-off from the trading platform -----------------------------------------------------------------


@require_http_methods(["GET"])
def handoff(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("token", "")
    try:
        claims = handoff_verify(token=token)
    except DomainError as exc:
        log.warning("hand-off refused on %s: %s", connection.schema_name, exc.code)
        return render(request, "identity/handoff_refused.html", {"message": exc.message, "code": exc.code}, status=403)
    user = handoff_account_take(claims=claims)
    perform_login(request, user, redirect_url=settings.LOGIN_REDIRECT_URL)
    return redirect(settings.LOGIN_REDIRECT_URL)


# --- the bidder's account and 企业信息认证 -----------------------------------------------------------------


def _enterprise_fields(pack: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
    fields = []
    for f in pack.forms.enterprise:
        kind = CANONICAL_FIELDS[f.name].kind
        fields.append(
            {
                "name": f.name,
                "label": f.label,
                "required": f.required,
                "hint": f.hint,
                "is_file": kind == FieldKind.FILE,
                "accept": ",".join(f".{t.value}" for t in f.upload.types) if f.upload else "",
                "choices": [{"code": c.code, "label": c.label} for c in (f.choices or [])]
                or [{"code": c, "label": c} for c in field_choices(pack, f)],
                "value": "" if kind in {FieldKind.FILE, FieldKind.ID_NUMBER} else values.get(f.name, ""),
            }
        )
    return fields


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # behind login_required
    return request.user


@login_required
def account_home(request: HttpRequest) -> HttpResponse:
    pack, _ = pack_in_force()
    user = _user(request)
    operator = Operator.objects.select_related("enterprise").filter(user=user).first()
    phone = UserPhone.objects.filter(user=user).values_list("phone", flat=True).first()
    return render(
        request,
        "identity/account.html",
        {
            "operator": operator,
            "enterprise": operator.enterprise if operator else None,
            "phone": mask_phone(phone) if phone else "",
            "verification": verification_latest(user=user),
            "verification_offered": pack.enterprise.source == EnterpriseSource.SELF_VERIFICATION,
            "review_hint": pack.enterprise.review_hint,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def enterprise_verify(request: HttpRequest) -> HttpResponse:
    pack, _ = pack_in_force()
    if pack.enterprise.source != EnterpriseSource.SELF_VERIFICATION:
        raise Http404("本中心无需企业认证")
    user = _user(request)
    values: dict[str, Any] = {}
    error: DomainError | None = None
    if request.method == "POST":
        values = {f.name: request.POST.get(f.name, "") for f in pack.forms.enterprise}
        try:
            with transaction.atomic():  # a refused submission keeps none of its uploads
                for f in pack.forms.enterprise:
                    file = request.FILES.get(f.name)
                    if CANONICAL_FIELDS[f.name].kind == FieldKind.FILE and file is not None:
                        values[f.name] = str(upload_store(enterprise=None, owner=user, purpose=f.name, file=file).id)
                enterprise_verification_submit(user=user, values=values)
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, pack.enterprise.review_hint or "企业认证申请已提交")
            return redirect("identity_account")
    operator = Operator.objects.select_related("enterprise").filter(user=user).first()
    return render(
        request,
        "identity/enterprise_verify.html",
        {
            "fields": _enterprise_fields(pack, values),
            "error": error,
            "verification": verification_latest(user=user),
            "enterprise": operator.enterprise if operator else None,
            "review_hint": pack.enterprise.review_hint,
        },
        status=400 if error else 200,
    )


# --- development pages (DEBUG only) ---------------------------------------------------------------------


def _debug_only() -> None:
    if not settings.DEBUG:
        raise Http404()


def dev_outbox(request: HttpRequest) -> HttpResponse:
    _debug_only()
    rows = SmsMessage.objects.filter(backend="outbox").order_by("-created_at")[:50]
    return render(request, "identity/dev_outbox.html", {"rows": rows})


def dev_index(request: HttpRequest) -> HttpResponse:
    _debug_only()
    from baohan.identity.services.demo import demo_ca_paths, demo_handoff_link

    pack, _ = pack_in_force()
    return render(
        request,
        "identity/dev.html",
        {
            "handoff_link": demo_handoff_link(request=request)
            if LoginMethod.PLATFORM_HANDOFF in pack.login.methods
            else "",
            "ca_paths": demo_ca_paths() if LoginMethod.CA_KEY in pack.login.methods else None,
        },
    )


def dev_ca_driver(request: HttpRequest) -> HttpResponse:
    """A stand-in for a CA driver: signs challenges with the demo enterprise key, in the browser."""
    _debug_only()
    from baohan.identity.services.demo import demo_ca_material

    certificate_pem, key_pem = demo_ca_material()
    script = Path(settings.THEMES_DIR / "base" / "static" / "identity" / "demo-ca-driver.js").read_text()
    script = script.replace("__CERTIFICATE__", json.dumps(certificate_pem)).replace("__KEY__", json.dumps(key_pem))
    return HttpResponse(script, content_type="text/javascript; charset=utf-8")
