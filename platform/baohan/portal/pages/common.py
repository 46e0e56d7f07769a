"""What every bidder page shares: who is asking, the pack in force, and forms drawn from the pack."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from baohan.guarantees.errors import DomainError, InvalidInput
from baohan.guarantees.forms import SENSITIVE_KINDS, field_choices, form_clean
from baohan.guarantees.models import Operator
from baohan.guarantees.states import Actor, ActorKind
from baohan.identity.services.humans import captcha_new
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldKind, FieldSource
from baohan.rulepacks.models import FormField, RulePack
from tenants.selectors import pack_in_force

View = TypeVar("View", bound=Callable[..., HttpResponse])


def bidder_page(view: View) -> View:
    """Only a signed-in bidder of this centre with an enterprise; others are sent where they can go on."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        operator = getattr(user, "operator", None)
        if not isinstance(operator, Operator):
            if isinstance(user, User) and user.is_staff:
                raise PermissionDenied("工作人员账户不能办理投保")
            from django.contrib import messages

            from baohan.guarantees.services.accounts import enterprise_not_verified_message

            messages.warning(request, enterprise_not_verified_message(user=user))  # what to do next
            return redirect("identity_account")  # no enterprise yet: 企业信息认证 first
        return view(request, *args, **kwargs)

    return cast(View, wrapped)


def operator_of(request: HttpRequest) -> Operator:
    operator = getattr(request.user, "operator", None)
    assert isinstance(operator, Operator)  # behind bidder_page
    return operator


def actor_of(request: HttpRequest) -> Actor:
    operator = operator_of(request)
    return Actor(ActorKind.BIDDER, str(operator.user_id), operator.name)


def pack_now() -> RulePack:
    return pack_in_force()[0]


def allocation_label(pack: RulePack) -> str:
    """Who draws the issuer under random allocation: the pack's platform, else the centre itself."""
    return pack.issuer_choice.platform_label or pack.centre.name


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


# --- forms drawn from the pack ------------------------------------------------------------------------

INPUT_TYPES = {
    FieldKind.MONEY: "text",
    FieldKind.RATE: "text",
    FieldKind.DAYS: "number",
    FieldKind.DATE: "date",
    FieldKind.PHONE: "tel",
    FieldKind.EMAIL: "email",
}
INPUT_MODES = {
    FieldKind.MONEY: "decimal",
    FieldKind.RATE: "decimal",
    FieldKind.DAYS: "numeric",
    FieldKind.PHONE: "tel",
    FieldKind.BANK_ACCOUNT: "numeric",
    FieldKind.SMS_CODE: "numeric",
}


@dataclass
class FieldView:
    """One field as a page shows it: the pack's label, required mark, hint and limits."""

    name: str
    label: str
    kind: str
    required: bool
    hint: str = ""
    value: Any = ""
    error: str = ""
    readonly: bool = False
    choices: list[dict[str, str]] = field(default_factory=list)
    accept: str = ""
    max_mb: Any = None
    input_type: str = "text"
    input_mode: str = ""

    @property
    def is_file(self) -> bool:
        return self.kind == FieldKind.FILE

    @property
    def is_captcha(self) -> bool:
        return self.kind == FieldKind.CAPTCHA

    @property
    def is_sms_code(self) -> bool:
        return self.kind == FieldKind.SMS_CODE


def field_views(
    *,
    pack: RulePack,
    fields: Iterable[FormField],
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    shown: Mapping[str, Any] | None = None,
) -> list[FieldView]:
    """The pack's fields, filled with what was sent (or ``shown`` for fields the engine fills)."""
    out = []
    for f in fields:
        canonical = CANONICAL_FIELDS[f.name]
        fixed = canonical.source in (FieldSource.SECTION, FieldSource.QUOTE)
        value = (shown or {}).get(f.name, "") if fixed else values.get(f.name, (shown or {}).get(f.name, ""))
        hint = f.hint or ""
        if canonical.kind in (FieldKind.FILE, FieldKind.CAPTCHA, FieldKind.SMS_CODE):
            value = ""
        elif canonical.kind in SENSITIVE_KINDS and not fixed:
            # Account and ID numbers are never sent back in full, not even to the one who typed them.
            if values.get(f.name):
                hint = f"{hint} 为保护账户安全，请重新填写。".strip()
            value = ""
        choices = [{"code": c.code, "label": c.label} for c in f.choices or []] or [
            {"code": c, "label": c} for c in field_choices(pack, f)
        ]
        if f.name == "project_type":
            choices = [{"code": pt.code, "label": pt.label} for pt in pack.sections.project_types]
        out.append(
            FieldView(
                name=f.name,
                label=f.label,
                kind=canonical.kind.value,
                required=f.required and not fixed,
                hint=hint,
                value="" if value is None else value,
                error=errors.get(f.name, ""),
                readonly=fixed,
                choices=choices if canonical.kind in (FieldKind.CHOICE, FieldKind.DAYS) and choices else [],
                accept=",".join(f".{t.value}" for t in f.upload.types) if f.upload else "",
                max_mb=f.upload.max_mb if f.upload else None,
                input_type=INPUT_TYPES.get(canonical.kind, "text"),
                input_mode=INPUT_MODES.get(canonical.kind, ""),
            )
        )
    return out


def form_errors(
    *, pack: RulePack, fields: Iterable[FormField], values: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, str]:
    """Every field's error at once (the service stops at the first), keyed by canonical name."""
    errors: dict[str, str] = {}
    for f in fields:
        try:
            form_clean(
                pack=pack,
                fields=[f],
                values={f.name: values[f.name]} if f.name in values else {},
                defaults=dict(defaults),
            )
        except InvalidInput as exc:
            errors[f.name] = exc.message
    return errors


def error_place(exc: DomainError, names: Iterable[str]) -> tuple[dict[str, str], str]:
    """A service's error next to its field when the page has that field, else above the form."""
    if exc.field and exc.field in set(names):
        return {exc.field: exc.message}, ""
    return {}, exc.message


def posted(request: HttpRequest, names: Iterable[str]) -> dict[str, str]:
    return {name: request.POST[name] for name in names if name in request.POST}


def captcha_context() -> dict[str, str]:
    key, url = captcha_new()
    return {"captcha_key": key, "captcha_url": url}


def check_codes(request: HttpRequest) -> dict[str, str]:
    return {"captcha": request.POST.get("captcha", ""), "sms_code": request.POST.get("sms_code", "")}


def upload_id(*, operator: Operator, purpose: str, file: Any) -> str:
    """Store an uploaded file for ``purpose``; its errors name the page's field, not the API's."""
    from baohan.guarantees.services.uploads import upload_store

    try:
        return str(upload_store(enterprise=operator.enterprise, owner=operator.user, purpose=purpose, file=file).id)
    except InvalidInput as exc:
        raise InvalidInput(exc.code, exc.message, field=purpose, label=exc.label) from exc
