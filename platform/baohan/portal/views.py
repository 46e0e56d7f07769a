"""Landing pages and the public site endpoint."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from baohan.portal.login_methods import login_choices
from baohan.rulepacks.models import RulePack
from baohan.sections.selectors import section_list_upcoming
from tenants.models import Tenant
from tenants.selectors import current_tenant, tenant_rule_pack, tenants_active_search


def landing(request: HttpRequest) -> HttpResponse:
    tenant = current_tenant()
    assert tenant is not None  # the tenant URLconf is only routed for tenant hosts
    return render(request, "portal/landing.html", landing_context(tenant=tenant, pack=tenant_rule_pack(tenant=tenant)))


def landing_context(*, tenant: Tenant, pack: RulePack) -> dict[str, Any]:
    """What the landing page shows, for the pack in force or a candidate being previewed."""
    project_types = {pt.code: pt.label for pt in pack.sections.project_types}
    sections = [
        {
            "code": s.code,
            "name": s.name,
            "project_type_label": project_types.get(s.project_type, s.project_type),
            "deposit_amount": s.deposit_amount,
            "deposit_deadline": s.deposit_deadline,
            "opening_time": s.opening_time,
            "status_label": s.get_status_display(),
            "location": s.location,
        }
        for s in section_list_upcoming(limit=8)
    ]
    return {
        "login_choices": login_choices(pack),
        "sections": sections,
        "rule_pack_version": tenant.current_rule_pack.number if tenant.current_rule_pack else None,
    }


BRANDING_TYPES = {"png": "image/png", "jpg": "image/jpeg"}


def branding_file(request: HttpRequest, code: str, name: str) -> HttpResponse:
    """A logo uploaded in the console. A centre's host serves its own only; the platform host (the
    console's preview) serves any. Content-addressed, so cached for good."""
    tenant = current_tenant()
    extension = name.rsplit(".", 1)[-1]
    if (tenant is not None and tenant.code != code) or extension not in BRANDING_TYPES or "/" in name:
        raise Http404()
    path = f"branding/{code}/{name}"
    if not default_storage.exists(path):
        raise Http404()
    with default_storage.open(path, "rb") as handle:
        response = HttpResponse(handle.read(), content_type=BRANDING_TYPES[extension])
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response


CENTRES_PER_PAGE = 30


def platform_home(request: HttpRequest) -> HttpResponse:
    """The centres, a page at a time (a thousand centres are three statements, not a thousand)."""
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    search = request.GET.get("q", "").strip()[:60]
    number = request.GET.get("page", "1")
    paginator = Paginator(tenants_active_search(search=search), CENTRES_PER_PAGE)
    page = paginator.get_page(number if number.isascii() and number.isdigit() else 1)
    centres = []
    for tenant in page:
        domains = sorted(tenant.domains.all(), key=lambda d: (not d.is_primary, d.domain))
        url = f"{request.scheme}://{domains[0].domain}{suffix}/" if domains else ""
        centres.append({"name": tenant.name, "code": tenant.code, "url": url})
    context = {"centres": centres, "page": page, "search": search, "total": paginator.count}
    return render(request, "platform/home.html", context)


class PlatformApi(APIView):
    """What the platform's own host is: the counterpart, in the public schema, of a centre's
    ``/api/v1/site`` (same shape and weight; ``make bench`` compares the two to price tenancy)."""

    @extend_schema(operation_id="platform_retrieve")
    def get(self, request: Request) -> Response:
        return Response(
            {
                "region": None,
                "name": "电子保函服务平台",
                "site_title": "面向公共资源交易中心的电子保函服务",
                "rule_pack_version": None,
                "rule_pack_label": "",
                "login_methods": [],
                "hotline": "",
                "hotlines": [],
                "theme": "base",
            }
        )


class SiteApi(APIView):
    """What this centre's site is: name, hotline, login methods and the rule-pack version in force."""

    class OutputSerializer(serializers.Serializer[Any]):
        region = serializers.CharField(help_text="The centre's code.")
        name = serializers.CharField()
        site_title = serializers.CharField()
        rule_pack_version = serializers.IntegerField(help_text="Published version number, counting from 1.")
        rule_pack_label = serializers.CharField(help_text="The version label written in the pack.")
        login_methods = serializers.ListField(child=serializers.CharField())
        hotline = serializers.CharField()
        hotlines = serializers.ListField(child=serializers.CharField())
        theme = serializers.CharField()

    @extend_schema(responses=OutputSerializer, operation_id="site_retrieve")
    def get(self, request: Request) -> Response:
        tenant = current_tenant()
        assert tenant is not None
        assert tenant.current_rule_pack is not None
        pack = tenant_rule_pack(tenant=tenant)
        data = {
            "region": tenant.code,
            "name": pack.centre.name,
            "site_title": pack.centre.site_title,
            "rule_pack_version": tenant.current_rule_pack.number,
            "rule_pack_label": tenant.current_rule_pack.label,
            "login_methods": [m.value for m in pack.login.methods],
            "hotline": pack.centre.hotlines[0],
            "hotlines": list(pack.centre.hotlines),
            "theme": tenant.theme,
        }
        # Built as the schema says; the serializer documents it (OpenAPI) and is not run per request:
        # its field set-up would cost more than the rest of the answer.
        return Response(data)
