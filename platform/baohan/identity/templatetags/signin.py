"""Tags of the sign-in pages and the header: who is signed in, in words a bidder knows, and a picture check."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.auth.models import User
from django.forms import BoundField
from django.utils.translation import gettext

from baohan.guarantees.models import Operator
from baohan.identity.fields import mask_phone
from baohan.identity.models import UserPhone
from baohan.identity.services.humans import captcha_new
from tenants.themes import theme_favicon_data_uri

register = template.Library()


@register.simple_tag
def signed_in_name(user: Any) -> str:
    """The enterprise's name, else the operator's, else the person's, else the masked phone: never the
    internal user name (「demo」, 「ca-9135…」) the platform keys accounts by."""
    if not isinstance(user, User) or not user.is_authenticated:
        return ""
    operator = Operator.objects.select_related("enterprise").filter(user=user).first()
    if operator is not None:
        if operator.enterprise.name:
            return operator.enterprise.name
        if operator.name:
            return operator.name
    if user.is_staff and user.get_full_name():
        return user.get_full_name()
    phone = UserPhone.objects.filter(user=user).values_list("phone", flat=True).first()
    if phone:
        return mask_phone(phone)
    if user.is_staff:
        return user.get_username()
    return gettext("用户")


@register.simple_tag
def signin_captcha() -> dict[str, str]:
    """A new picture check (图形验证码): its key and picture."""
    key, url = captcha_new()
    return {"key": key, "image_url": url}


@register.filter
def phone_masked(phone: str | None) -> str:
    return mask_phone(phone) if phone else ""


@register.simple_tag
def field_input(field: BoundField, placeholder: str = "") -> str:
    """The field's input with its placeholder, and tied to its error for screen readers."""
    attrs: dict[str, Any] = {"aria-describedby": f"{field.auto_id}-error"}
    if placeholder:
        attrs["placeholder"] = placeholder
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)


@register.simple_tag
def favicon_uri() -> str:
    """The theme's icon written into the page itself (no request of its own to wait for or be cut short);
    /favicon.ico serves the same file to browsers that ask for it."""
    return theme_favicon_data_uri()
