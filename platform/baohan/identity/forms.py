"""Forms of the sign-in pages. Every SMS send passes the image captcha and the per-phone limits first."""

from __future__ import annotations

from typing import Any

from allauth.account import app_settings as allauth_settings
from allauth.account import forms as allauth_forms
from allauth.account.adapter import get_adapter
from allauth.core import context
from captcha.fields import CaptchaField
from django import forms
from django.contrib.auth.password_validation import validate_password
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from baohan.guarantees.errors import DomainError
from baohan.identity.clients import client_address
from baohan.identity.services.signup import SIGNUP_PURPOSE
from baohan.identity.services.sms import phone_checked, sms_code_verify, sms_send_reserve
from baohan.rulepacks.models import HumanCheck
from tenants.selectors import pack_in_force


def _captcha() -> CaptchaField:
    return CaptchaField(
        label=_("图形验证码"), error_messages={"invalid": "图形验证码错误", "required": "请填写图形验证码"}
    )


def human_check_required() -> bool:
    """Whether the pack puts a picture check before each SMS send (``login.human_check``); a slider is
    served by the picture check too."""
    pack, _pack_version = pack_in_force()
    return pack.login.human_check != HumanCheck.NONE


def _human_check_follow_pack(form: forms.Form) -> None:
    if not human_check_required():
        del form.fields["captcha"]


class SendLimitMixin(forms.Form):
    """Once everything else is valid, the send is taken from the phone's limits and the asking client's,
    or the phone field says why."""

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not self.errors and cleaned.get("phone"):
            request = context.request  # set by allauth's middleware for every request
            if request is None:
                raise RuntimeError("an SMS send outside a request: no client to count it against")
            try:
                sms_send_reserve(phone=cleaned["phone"], client=client_address(request))
            except DomainError as exc:
                self.add_error("phone", exc.message)
        return cleaned


class SignupForm(allauth_forms.SignupForm):
    """新用户注册 as the manual draws it: phone, the picture check before 获取验证码, the SMS code, a password
    (the centre offers password login) and the service terms. The code is checked here, so the account is
    made with its phone already verified."""

    sms_code = forms.CharField(
        label=_("短信验证码"),
        max_length=8,
        required=False,  # said by sms_code_verify, in the words the other forms use
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "tel", "maxlength": "11"})
        self.fields["password1"].label = _("设置密码")
        self.fields["password1"].help_text = gettext("密码至少%(length)s位") % {
            "length": allauth_settings.PASSWORD_MIN_LENGTH
        }
        self.fields["password2"].label = _("确认密码")
        pack, _pack_version = pack_in_force()
        for consent in pack.login.registration_consents:
            self.fields[f"consent_{consent.code}"] = forms.BooleanField(
                label=consent.label, required=True, error_messages={"required": f"请阅读并同意{consent.label}"}
            )
        order = ["phone", "sms_code", "password1", "password2"]
        self.order_fields(order + [name for name in self.fields if name not in order])

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not self.errors and cleaned.get("phone"):
            try:
                sms_code_verify(phone=cleaned["phone"], purpose=SIGNUP_PURPOSE, code=cleaned.get("sms_code", ""))
            except DomainError as exc:
                self.add_error("sms_code", exc.message)
        return cleaned

    def signup(self, request: HttpRequest, user: Any) -> None:
        """The phone was proved by its code: it is stored verified, and no verification step follows."""
        get_adapter().set_phone_verified(user, self.cleaned_data["phone"])


class RequestLoginCodeForm(SendLimitMixin, allauth_forms.RequestLoginCodeForm):
    """验证码登录: the code is sent only after the picture check."""

    captcha = _captcha()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "tel", "maxlength": "11"})
        _human_check_follow_pack(self)


class PasswordResetRequestForm(forms.Form):
    """忘记密码, step one: the phone and the image captcha."""

    phone = forms.CharField(label="手机号码", max_length=11)
    captcha = _captcha()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _human_check_follow_pack(self)

    def clean_phone(self) -> str:
        try:
            return phone_checked(self.cleaned_data["phone"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc


class PasswordResetConfirmForm(forms.Form):
    """忘记密码, step two: the code and the new password twice."""

    code = forms.CharField(label="短信验证码", max_length=6)
    password1 = forms.CharField(label="新密码", widget=forms.PasswordInput)
    password2 = forms.CharField(label="确认新密码", widget=forms.PasswordInput)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "两次输入的密码不一致")
        elif cleaned.get("password1"):
            try:
                validate_password(cleaned["password1"])
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class EnterpriseVerificationForm(forms.Form):
    """企业信息认证 as a page; the API takes the same fields."""

    enterprise_name = forms.CharField(label="企业名称", max_length=200)
    enterprise_uscc = forms.CharField(label="统一社会信用代码", max_length=18)
    legal_rep_name = forms.CharField(label="法人姓名", max_length=100)
    legal_rep_id_type = forms.ChoiceField(label="证件类型")
    legal_rep_id_number = forms.CharField(label="证件号码", max_length=40)
    business_licence = forms.FileField(label="企业营业执照(扫描件)")
