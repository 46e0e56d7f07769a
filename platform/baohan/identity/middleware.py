"""Sessions belong to one centre, and each centre's login pages exist only if its pack offers them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse

from baohan.rulepacks.models import LoginMethod
from tenants.db import connection
from tenants.selectors import pack_in_force

SESSION_SCHEMA_KEY = "_baohan_schema"

# allauth's URL names, and the login method (or registration) each belongs to.
GATED_VIEWS: dict[str, set[LoginMethod] | str] = {
    "account_login": {LoginMethod.PASSWORD},
    "account_request_login_code": {LoginMethod.SMS_CODE},
    "account_confirm_login_code": {LoginMethod.SMS_CODE},
    "account_signup": "registration",
    "account_verify_phone": {LoginMethod.PASSWORD, LoginMethod.SMS_CODE},
    "account_change_phone": {LoginMethod.PASSWORD, LoginMethod.SMS_CODE},
    "account_reauthenticate": {LoginMethod.PASSWORD},
    "identity_signup_code": "registration",
    # Email is not used; passwords are reset by SMS (identity_password_reset).
    "account_reset_password": "never",
    "account_reset_password_done": "never",
    "account_reset_password_from_key": "never",
    "account_reset_password_from_key_done": "never",
    "account_email": "never",
    "account_email_verification_sent": "never",
    "account_confirm_email": "never",
    "account_change_password": {LoginMethod.PASSWORD},
    "account_set_password": {LoginMethod.PASSWORD},
    "identity_password_reset": "reset",
    "identity_password_reset_confirm": "reset",
    "identity_ca_challenge": {LoginMethod.CA_KEY},
    "identity_ca_login": {LoginMethod.CA_KEY},
    "identity_handoff": {LoginMethod.PLATFORM_HANDOFF},
}


class SessionTenantMiddleware:
    """A session records the schema it was made in; presented anywhere else it is dropped."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None:
            bound = session.get(SESSION_SCHEMA_KEY)
            if bound is not None and bound != connection.schema_name:
                logout(request)
        response = self.get_response(request)
        if session is not None and AUTH_SESSION_KEY in session and SESSION_SCHEMA_KEY not in session:
            session[SESSION_SCHEMA_KEY] = connection.schema_name
        return response


class LoginMethodMiddleware:
    """Pages of login methods the centre's pack does not offer answer 404."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> None:
        match = request.resolver_match
        if match is None or match.url_name not in GATED_VIEWS or connection.schema_name == "public":
            return None
        pack, _ = pack_in_force()
        need = GATED_VIEWS[match.url_name]
        methods = set(pack.login.methods)
        if need == "never":
            allowed = False
        elif need == "registration":
            allowed = pack.login.self_registration
        elif need == "reset":
            allowed = pack.login.reset_by_sms
        else:
            assert isinstance(need, set)
            allowed = bool(need & methods)
        if not allowed:
            raise Http404("本中心不提供该登录方式")
        return None
