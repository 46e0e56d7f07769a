"""Landing pages and the public site endpoint."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from baohan.portal.login_methods import login_choices
from baohan.sections.selectors import section_list_upcoming
from tenants.selectors import current_tenant, tenant_list_active, tenant_rule_pack


def landing(request: HttpRequest) -> HttpResponse:
    tenant = current_tenant()
    assert tenant is not None  # the tenant URLconf is only routed for tenant hosts
    pack = tenant_rule_pack(tenant=tenant)
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
    context = {
        "login_choices": login_choices(pack),
        "sections": sections,
        "rule_pack_version": tenant.current_rule_pack.number if tenant.current_rule_pack else None,
    }
    return render(request, "portal/landing.html", context)


def platform_home(request: HttpRequest) -> HttpResponse:
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    centres = []
    for tenant in tenant_list_active():
        domains = sorted(tenant.domains.all(), key=lambda d: (not d.is_primary, d.domain))
        url = f"{request.scheme}://{domains[0].domain}{suffix}/" if domains else ""
        centres.append({"name": tenant.name, "code": tenant.code, "url": url})
    return render(request, "platform/home.html", {"centres": centres})


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
        return Response(self.OutputSerializer(data).data)
