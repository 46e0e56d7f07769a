"""Rule packs in the console: edit, validate, compare with the live version, preview what would
change, publish as a new version, roll back by publishing an older one again."""

from __future__ import annotations

import difflib
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from baohan.console.access import centre_admin_check, console_page, tenant_for
from baohan.console.audit import console_action_record
from baohan.console.changes import pack_changes, version_label_next
from baohan.console.pack_errors import ExplainedProblem, pack_problems_explain
from baohan.console.preview import pack_preview
from baohan.console.views import console_render
from baohan.guarantees.numbers import NumberRefused, integer_parse
from baohan.rulepacks.loader import PackProblem, RulePackError, rulepack_digest, rulepack_load_text
from baohan.rulepacks.models import RulePack
from tenants.models import RulePackVersion, Tenant
from tenants.services import OnboardingError, digest_today, tenant_onboard

PREVIEW_DAYS = (7, 30, 90, 365)


def source_diff(old: str, new: str, *, old_name: str, new_name: str) -> list[tuple[str, str]]:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm="", n=2)
    return [("add" if ln.startswith("+") else "del" if ln.startswith("-") else "", ln) for ln in lines]


def next_label(tenant: Tenant) -> str:
    return version_label_next(taken=list(tenant.rule_packs.values_list("label", flat=True)))


def pack_check(tenant: Tenant, source: str) -> tuple[RulePack | None, list[ExplainedProblem]]:
    """The pack in ``source`` if it may be published for ``tenant``; else its problems, each naming
    the line, the column and the key."""
    file = f"{tenant.code}.yaml"
    try:
        pack = rulepack_load_text(source, file=file)
    except RulePackError as exc:
        return None, pack_problems_explain(source=source, problems=exc.problems)
    problems: list[PackProblem] = []
    if pack.centre.code != tenant.code:
        problems.append(PackProblem(file, "centre.code", f"应为 {tenant.code!r}（不能在此更改交易中心代码）"))
    else:
        digest = rulepack_digest(pack)
        for published in tenant.rule_packs.filter(label=pack.version).exclude(digest=digest):
            if digest_today(published) != digest:
                problems.append(
                    PackProblem(
                        file,
                        "version",
                        f"{pack.version!r} 已发布过其他内容，请更换版本号（建议：{next_label(tenant)}）",
                    )
                )
                break
    if problems:
        return None, pack_problems_explain(source=source, problems=problems)
    return pack, []


def pack_publish(request: HttpRequest, tenant: Tenant, source: str, *, action: str, extra: dict[str, object]) -> int:
    live = tenant.current_rule_pack
    result = tenant_onboard(source_text=source, source_name=f"{tenant.code}.yaml", domains=[])
    diff = pack_changes(old_source=live.source_text if live else "", new_source=source)
    console_action_record(
        actor=request.user,
        action=action,
        tenant=tenant,
        detail={
            "from_version": live.number if live else None,
            "to_version": result.version.number,
            "label": result.version.label,
            "from_label": live.label if live else "",
            "new_version": result.new_version,
            "diff": diff,
            **extra,
        },
    )
    return result.version.number


@console_page
@require_http_methods(["GET", "POST"])
def pack_edit(request: HttpRequest, code: str) -> HttpResponse:
    tenant = tenant_for(request.user, code)
    live = tenant.current_rule_pack
    source = request.POST.get("source", "") if request.method == "POST" else (live.source_text if live else "")
    upload = request.FILES.get("pack")
    if upload is not None:
        source = upload.read().decode("utf-8", errors="replace")
    action = request.POST.get("action", "")
    try:
        days = integer_parse(request.POST.get("days", "30"))
    except NumberRefused:
        days = 30
    days = days if days in PREVIEW_DAYS else 30
    context: dict[str, object] = {
        "tenant": tenant,
        "live": live,
        "source": source,
        "days": days,
        "day_choices": PREVIEW_DAYS,
        "suggested_label": next_label(tenant),
        "next_number": tenant.rule_packs.count() + 1,
    }
    if request.method == "POST":
        centre_admin_check(request.user, tenant)  # a replay reads every issuer's decisions: not for issuer staff
        pack, problems = pack_check(tenant, source)
        context["problems"] = problems
        if pack is not None:
            context["previewed_digest"] = rulepack_digest(pack)
            context["base_number"] = live.number if live else 0
            context["diff"] = source_diff(
                live.source_text if live else "",
                source,
                old_name=f"V{live.number if live else 0}",
                new_name="新版本",
            )
            context["changes"] = pack_changes(old_source=live.source_text if live else "", new_source=source)
            context["new_label"] = pack.version
            if action in ("preview", "publish"):
                preview = pack_preview(tenant=tenant, candidate=pack, days=days)
                context["preview"] = preview
            if action == "publish":
                # What is published is exactly what was previewed, on the version it was previewed against.
                if request.POST.get("previewed") != context["previewed_digest"]:
                    context["problems"] = ["发布前请先预览变更影响，确认后再发布（预览后内容有改动须重新预览）"]
                elif request.POST.get("base") != str(context["base_number"]):
                    context["problems"] = ["预览之后已有新的规则版本发布，请重新预览"]
                else:
                    try:
                        number = pack_publish(
                            request,
                            tenant,
                            source,
                            action="pack_publish",
                            extra={"changes": len(preview.changes), "days": days},
                        )
                    except RulePackError as exc:
                        context["problems"] = pack_problems_explain(source=source, problems=exc.problems)
                    except OnboardingError as exc:
                        context["problems"] = list(exc.problems)
                    else:
                        messages.success(request, f"已发布规则版本 V{number}")
                        return redirect("console:tenant", code=tenant.code)
        status = 400 if context.get("problems") else 200
        return console_render(request, "console/pack_edit.html", context, status=status)
    return console_render(request, "console/pack_edit.html", context)


@console_page
@require_http_methods(["GET", "POST"])
def pack_republish(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """回滚: the older version's pack, published again as the newest version. Decisions already made
    keep the version they were made under. A GET shows what would change; only a POST from that
    confirmation (``confirm`` and the version it was shown against) changes anything."""
    tenant = tenant_for(request.user, code)
    centre_admin_check(request.user, tenant)
    old = RulePackVersion.objects.filter(tenant=tenant, number=number).first()
    if old is None:
        raise Http404("没有该规则版本")
    live = tenant.current_rule_pack
    live_number = live.number if live else 0
    problems: list[str] = []
    if request.method == "POST":
        if request.POST.get("confirm") != "rollback":
            problems.append("回滚须在本页确认后才会执行，未做任何改动")
        elif request.POST.get("base") != str(live_number):
            problems.append("确认之后已有新的规则版本发布，请重新确认，未做任何改动")
        else:
            try:
                new_number = pack_publish(
                    request, tenant, old.source_text, action="pack_rollback", extra={"restored": number}
                )
            except (RulePackError, OnboardingError) as exc:
                messages.error(request, f"回滚失败：{exc}")
            else:
                messages.success(request, f"已将 V{number} 重新发布为 V{new_number}")
            return redirect("console:tenant", code=tenant.code)
    live_source = live.source_text if live else ""
    context = {
        "tenant": tenant,
        "version": old,
        "live": live,
        "base_number": live_number,
        "next_number": tenant.rule_packs.count() + 1,
        "problems": problems,
        "changes": pack_changes(old_source=live_source, new_source=old.source_text),
        "diff": source_diff(live_source, old.source_text, old_name=f"V{live_number}", new_name=f"V{number}"),
        "same": live is not None and live.digest == old.digest,
    }
    return console_render(request, "console/pack_rollback.html", context, status=400 if problems else 200)


@console_page
@require_http_methods(["GET"])
def pack_schema(request: HttpRequest) -> HttpResponse:
    """regions/schema.json, for the editor's checks in the browser (the server stays the authority)."""
    schema = Path(settings.REGIONS_DIR) / "schema.json"
    return HttpResponse(schema.read_bytes(), content_type="application/json")


@console_page
def pack_version(request: HttpRequest, code: str, number: int) -> HttpResponse:
    tenant = tenant_for(request.user, code)
    version = RulePackVersion.objects.filter(tenant=tenant, number=number).first()
    if version is None:
        raise Http404("没有该规则版本")
    live = tenant.current_rule_pack
    diff = source_diff(
        version.source_text,
        live.source_text if live else "",
        old_name=f"V{number}",
        new_name=f"V{live.number if live else 0}",
    )
    return console_render(request, "console/pack_version.html", {"tenant": tenant, "version": version, "diff": diff})
