"""主题: a centre's name, colours, hotlines, footer and logo, edited as a new pack version —
previewed on the centre's own landing page before it is published."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_urlconf, set_urlconf
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods
from django_tenants.utils import tenant_context

from baohan.console.access import centre_admin_check, console_page, tenant_for
from baohan.console.branding import COLOUR_KEYS, TEXT_KEYS, branding_logo_store, branding_source_edit
from baohan.console.contrast import FOOTER_BACKGROUND, theme_colour_problem
from baohan.console.pack_errors import ExplainedProblem
from baohan.console.packs import pack_check, pack_publish, source_diff
from baohan.console.views import console_render
from baohan.guarantees.errors import InvalidInput
from baohan.portal.views import landing_context
from baohan.rulepacks.loader import RulePackError, rulepack_digest
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack
from tenants.services import OnboardingError

DRAFT_KEY = "console_theme_draft:{code}"
FIELDS = (*TEXT_KEYS, *COLOUR_KEYS)
COLOUR_LABELS = {"primary_colour": "主色", "accent_colour": "辅色"}


def _draft(request: HttpRequest, tenant: Tenant) -> str:
    """The previewed pack text, if it was made from the version still in force (else nothing)."""
    draft = request.session.get(DRAFT_KEY.format(code=tenant.code))
    if not isinstance(draft, dict) or tenant.current_rule_pack is None:
        return ""
    return str(draft["source"]) if draft.get("base") == tenant.current_rule_pack.number else ""


def _suggested_version(label: str) -> str:
    return f"{label.split('-brand')[0][:24]}-brand{timezone.localtime():%m%d%H%M}"


@console_page
@require_http_methods(["GET", "POST"])
def theme_edit(request: HttpRequest, code: str) -> HttpResponse:
    tenant = tenant_for(request.user, code)
    live = tenant.current_rule_pack
    assert live is not None
    pack = tenant_rule_pack(tenant=tenant)
    values: dict[str, Any] = {key: getattr(pack.centre, key) or "" for key in FIELDS}
    values["hotlines"] = "\n".join(pack.centre.hotlines)
    values["version"] = _suggested_version(live.label)
    errors: dict[str, str] = {}
    problems: list[ExplainedProblem] = []
    context: dict[str, Any] = {"tenant": tenant, "logo": pack.centre.logo, "footer_background": FOOTER_BACKGROUND}
    action = request.POST.get("action", "")
    if request.method == "POST" and action == "publish":
        centre_admin_check(request.user, tenant)
        draft = _draft(request, tenant)
        if not draft:
            messages.error(request, "请先预览，再发布（预览之后若有新的规则版本发布，须重新预览）")
            return redirect("console:theme", code=tenant.code)
        try:
            number = pack_publish(request, tenant, draft, action="theme_publish", extra={})
        except (RulePackError, OnboardingError) as exc:
            messages.error(request, f"发布失败：{exc}")
            return redirect("console:theme", code=tenant.code)
        request.session.pop(DRAFT_KEY.format(code=tenant.code), None)
        messages.success(request, f"主题已发布为规则版本 V{number}")
        return redirect("console:tenant", code=tenant.code)
    if request.method == "POST":
        centre_admin_check(request.user, tenant)
        values = {key: request.POST.get(key, "") for key in (*FIELDS, "hotlines", "version")}
        for key, label in COLOUR_LABELS.items():
            refused = theme_colour_problem(key=key, label=label, value=values[key])
            if refused:
                errors[key] = refused
        edit: dict[str, Any] = {key: values[key] for key in FIELDS}
        edit["hotlines"] = values["hotlines"].replace(",", "\n").splitlines()
        try:
            if errors:
                raise InvalidInput("contrast", errors[next(iter(errors))], field=next(iter(errors)))
            if request.FILES.get("logo") is not None:
                edit["logo"] = branding_logo_store(code=tenant.code, file=request.FILES["logo"])
                context["logo"] = edit["logo"]
            source = branding_source_edit(source_text=live.source_text, values=edit, version=values["version"].strip())
        except InvalidInput as exc:
            errors[exc.field or "source"] = exc.message
        else:
            candidate, problems = pack_check(tenant, source)
            for problem in problems:  # a pack problem on a branding key belongs beside that field
                for key in (*FIELDS, "hotlines", "version"):
                    if problem.key.split("[")[0] in (f"centre.{key}", key if key == "version" else ""):
                        errors.setdefault(key, problem.message)
            if candidate is not None and rulepack_digest(candidate) == live.digest:
                messages.info(request, "与当前版本相同，无需发布")
            elif candidate is not None:
                request.session[DRAFT_KEY.format(code=tenant.code)] = {"source": source, "base": live.number}
                context["previewing"] = True
                context["diff"] = source_diff(live.source_text, source, old_name=f"V{live.number}", new_name="新版本")
    context.update({"values": values, "errors": errors, "problems": problems})
    return console_render(request, "console/theme.html", context, status=400 if errors or problems else 200)


@console_page
@xframe_options_sameorigin
def theme_preview(request: HttpRequest, code: str) -> HttpResponse:
    """The centre's landing page as the draft would draw it (for the console's preview frame)."""
    tenant = tenant_for(request.user, code)
    draft = _draft(request, tenant)
    candidate, _ = pack_check(tenant, draft) if draft else (None, [])
    pack = candidate or tenant_rule_pack(tenant=tenant)
    previous = get_urlconf()
    set_urlconf("baohan.urls_tenant")  # the page's links are the centre's
    try:
        with tenant_context(tenant):
            context = {**landing_context(tenant=tenant, pack=pack), "pack": pack, "theme": tenant.theme}
            response = render(request, "portal/landing.html", context)
    finally:
        set_urlconf(previous)
    return response
