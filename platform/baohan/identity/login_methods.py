"""How each login method is named and presented to bidders: the one place its words live, used by the
sign-in pages and by the errors that name a method (``login_method_not_offered``)."""

from __future__ import annotations

from typing import TypedDict

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from baohan.rulepacks.models import LoginMethod, RulePack

LOGIN_METHOD_TEXT: dict[LoginMethod, tuple[Promise, Promise]] = {
    LoginMethod.PLATFORM_HANDOFF: (_("交易平台登录"), _("从公共资源交易平台点击【电子保函登录】进入")),
    LoginMethod.CA_KEY: (_("CA证书登录"), _("插入企业CA锁（证书key）后登录")),
    LoginMethod.SMS_CODE: (_("验证码登录"), _("使用手机号和短信验证码登录")),
    LoginMethod.PASSWORD: (_("密码登录"), _("使用手机号和密码登录")),
}


LOGIN_METHOD_URL = {
    LoginMethod.PLATFORM_HANDOFF: "/login/#handoff",
    LoginMethod.CA_KEY: "/login/#ca",
    LoginMethod.SMS_CODE: "/accounts/login/code/",
    LoginMethod.PASSWORD: "/accounts/login/",
}


def login_method_label(method: LoginMethod) -> str:
    """The method's name as the sign-in page shows it (「验证码登录」), in the active language."""
    return str(LOGIN_METHOD_TEXT[method][0])


class LoginChoice(TypedDict):
    code: str
    label: str
    hint: str
    url: str


def login_choices(pack: RulePack) -> list[LoginChoice]:
    return [
        {
            "code": method.value,
            "label": login_method_label(method),
            "hint": str(LOGIN_METHOD_TEXT[method][1]),
            "url": LOGIN_METHOD_URL[method],
        }
        for method in pack.login.methods
    ]
