"""allauth's account adapter: phone storage, SMS sending, and what the centre's pack allows."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from baohan.guarantees.forms import phone_clean
from baohan.identity.models import UserPhone
from baohan.identity.services.accounts import account_event_record
from baohan.identity.services.sms import sms_code_queue
from baohan.rulepacks.models import LoginMethod
from tenants.selectors import pack_in_force

PHONE_STAGE = "allauth.account.stages.PhoneVerificationStage"
OUR_PHONE_STAGE = "baohan.identity.stages.PhoneOwnersOnlyStage"


class AccountAdapter(DefaultAccountAdapter):
    # allauth's answers in the centre's words (its own catalogue has English or other wording for some).
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "account_inactive": _("该账户已停用，请联系客服"),
        "phone_password_mismatch": _("手机号码或密码不正确"),
        "incorrect_code": _("短信验证码错误"),
        "incorrect_password": _("密码不正确"),
        "invalid_login": _("登录失败，请重新登录"),
        "phone_taken": _("该手机号已注册，请直接登录"),
        "too_many_login_attempts": _("尝试次数过多，请稍后再试"),
        "unknown_phone": _("该手机号未注册"),
        "same_as_current": _("新手机号码与当前手机号码相同"),
        "rate_limited": _("操作过于频繁，请稍后再试"),
        "enter_current_password": _("请输入当前密码"),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        pack, _ = pack_in_force()
        methods = set(pack.login.methods)
        return pack.login.self_registration and bool(methods & {LoginMethod.PASSWORD, LoginMethod.SMS_CODE})

    def get_login_stages(self) -> list[str]:
        stages: list[str] = super().get_login_stages()
        return [OUR_PHONE_STAGE if s == PHONE_STAGE else s for s in stages]

    def phone_form_field(self, **kwargs: Any) -> Any:
        kwargs.setdefault("label", "手机号码")
        message = "手机号码应为11位中国大陆手机号"
        kwargs.setdefault(
            "error_messages", {"min_length": message, "max_length": message, "required": "请填写手机号码"}
        )
        return forms.CharField(max_length=11, min_length=11, **kwargs)

    def clean_phone(self, phone: str) -> str:
        try:
            return phone_clean(phone)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def set_phone(self, user: AbstractBaseUser, phone: str, verified: bool) -> None:
        assert isinstance(user, User)
        UserPhone.objects.update_or_create(user=user, defaults={"phone": phone, "verified": verified})

    def get_phone(self, user: AbstractBaseUser) -> tuple[str, bool] | None:
        assert isinstance(user, User)
        row = UserPhone.objects.filter(user=user).first()
        return (row.phone, row.verified) if row else None

    def set_phone_verified(self, user: AbstractBaseUser, phone: str) -> None:
        assert isinstance(user, User)
        UserPhone.objects.filter(user=user, phone=phone).update(verified=True)

    def get_user_by_phone(self, phone: str) -> AbstractBaseUser | None:
        row = UserPhone.objects.select_related("user").filter(phone=phone).first()
        return row.user if row else None

    def send_verification_code_sms(self, user: AbstractBaseUser, phone: str, code: str, **kwargs: Any) -> None:
        sms_code_queue(phone=phone, code=code)

    def pre_login(self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any) -> HttpResponse | None:
        """The bidders' sign-in (password, SMS code) is not the staff's: they sign in at /staff/login/."""
        if isinstance(user, User) and user.is_staff:
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            messages.error(request, "工作人员账户请在工作台登录")
            # An issuer's staff (bound to an issuer, see baohan.issuerdesk) sign in on the issuer workbench.
            return redirect("issuerdesk:login" if hasattr(user, "issuer_member") else "staff:login")
        response: HttpResponse | None = super().pre_login(request, user, **kwargs)
        return response

    def login(self, request: HttpRequest, user: AbstractBaseUser) -> None:
        super().login(request, user)
        assert isinstance(user, User)
        account_event_record(user=user, kind="login", actor_label=user.get_username(), data={"path": request.path})
