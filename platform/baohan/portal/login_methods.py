"""How each login method is presented to bidders."""

from __future__ import annotations

from typing import TypedDict

from django.utils.translation import gettext_lazy as _

from baohan.rulepacks.models import LoginMethod, RulePack

LOGIN_METHOD_TEXT = {
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


class LoginChoice(TypedDict):
    code: str
    label: str
    hint: str
    url: str


def login_choices(pack: RulePack) -> list[LoginChoice]:
    return [
        {
            "code": method.value,
            "label": str(LOGIN_METHOD_TEXT[method][0]),
            "hint": str(LOGIN_METHOD_TEXT[method][1]),
            "url": LOGIN_METHOD_URL[method],
        }
        for method in pack.login.methods
    ]
