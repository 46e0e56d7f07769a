"""How each login method is presented to bidders: defined once in ``baohan.identity.login_methods``."""

from __future__ import annotations

from baohan.identity.login_methods import LOGIN_METHOD_TEXT, LOGIN_METHOD_URL, LoginChoice, login_choices

__all__ = ["LOGIN_METHOD_TEXT", "LOGIN_METHOD_URL", "LoginChoice", "login_choices"]
