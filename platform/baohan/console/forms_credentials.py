"""Forms of the console's credentials page: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from baohan.guarantees.models import ApiCredential
from baohan.guarantees.numbers import AsciiIntegerFormField
from baohan.guarantees.services.credentials import MAX_OVERLAP_HOURS

DEFAULT_OVERLAP_HOURS = 24


def _secret_input() -> forms.PasswordInput:
    # Never sent back to the browser, not even after an error.
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"})


def _overlap_field() -> forms.IntegerField:
    return AsciiIntegerFormField(
        label=_("过渡期（小时）"),
        min_value=0,
        max_value=MAX_OVERLAP_HOURS,
        initial=DEFAULT_OVERLAP_HOURS,
        help_text=_("过渡期内新旧凭证同时有效，期满后仅新凭证有效。"),
    )


class CredentialCreateForm(forms.Form):
    kind = forms.ChoiceField(label=_("凭证类型"), choices=ApiCredential.Kind.choices)
    issuer_code = forms.CharField(label=_("出函机构"), required=False, max_length=40)
    label = forms.CharField(label=_("备注"), required=False, max_length=100)

    def __init__(self, *args: Any, issuers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("—（交易中心凭证不选）")), *issuers]
        self.fields["issuer_code"].widget = forms.Select(choices=choices)


class OverlapForm(forms.Form):
    overlap_hours = _overlap_field()


class HandoffKeyAddForm(forms.Form):
    key_id = forms.CharField(label=_("密钥编号（kid）"), required=False, max_length=40, help_text=_("留空则自动生成。"))
    secret = forms.CharField(
        label=_("密钥"),
        required=False,
        max_length=200,
        widget=_secret_input(),
        help_text=_("留空则自动生成（至少32个字符），保存后仅显示一次。"),
    )


class HandoffKeyRotateForm(forms.Form):
    new_key_id = forms.CharField(
        label=_("新密钥编号（kid）"), required=False, max_length=40, help_text=_("留空则自动生成。")
    )
    overlap_hours = _overlap_field()


class CaRootForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=200)
    pem = forms.CharField(
        label=_("根证书（PEM）"),
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=_("以 -----BEGIN CERTIFICATE----- 开头；可包含多张 CA 证书。"),
    )


class SmsSettingsForm(forms.Form):
    provider = forms.ChoiceField(
        label=_("服务商"),
        choices=[("aliyun", _("阿里云短信")), ("tencent", _("腾讯云短信")), ("outbox", _("开发发件箱（不发送）"))],
    )
    key_id = forms.CharField(
        label=_("AccessKey ID / SecretId"),
        required=False,
        max_length=200,
        widget=_secret_input(),
        help_text=_("已保存的值不再显示；留空则保持不变。"),
    )
    key_secret = forms.CharField(
        label=_("AccessKey Secret / SecretKey"),
        required=False,
        max_length=200,
        widget=_secret_input(),
        help_text=_("已保存的值不再显示；留空则保持不变。"),
    )
    sign_name = forms.CharField(label=_("短信签名"), required=False, max_length=100)
    sdk_app_id = forms.CharField(label=_("SDK AppID"), required=False, max_length=40, help_text=_("仅腾讯云需要。"))
    region = forms.CharField(
        label=_("地域"), required=False, max_length=40, help_text=_("仅腾讯云，默认 ap-guangzhou。")
    )
    templates = forms.CharField(
        label=_("短信模板（JSON）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_(
            '阿里云：{"verification_code": "SMS_…"}；腾讯云：{"verification_code": ["模板ID", ["code", "minutes"]]}。'
        ),
    )


class StripeSettingsForm(forms.Form):
    secret_key = forms.CharField(
        label=_("Secret key"),
        required=False,
        max_length=300,
        widget=_secret_input(),
        help_text=_("sk_ 或 rk_ 开头；已保存的值不再显示，留空则保持不变。"),
    )
    webhook_secret = forms.CharField(
        label=_("Webhook 签名密钥"),
        required=False,
        max_length=300,
        widget=_secret_input(),
        help_text=_("whsec_ 开头；已保存的值不再显示，留空则保持不变。"),
    )
    overlap_hours = AsciiIntegerFormField(
        label=_("旧 Webhook 密钥过渡期（小时）"),
        min_value=0,
        max_value=MAX_OVERLAP_HOURS,
        initial=DEFAULT_OVERLAP_HOURS,
        help_text=_("更换 Webhook 签名密钥后，旧密钥在过渡期内仍被接受。"),
    )
