"""项目标段: the section list with search and filters, and a section's detail."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from baohan.guarantees.errors import DomainError
from baohan.guarantees.models import Operator
from baohan.guarantees.selectors import order_list_for_enterprise, state_label
from baohan.guarantees.services.orders import section_accepting
from baohan.portal.pages.common import allocation_label, pack_now
from baohan.rulepacks.models import IssuerChoiceMode
from baohan.sections.models import Section
from baohan.sections.selectors import section_search
from tenants.themes import theme_static_url

FILTERS = ("q", "project_type", "status", "location")


def section_list(request: HttpRequest) -> HttpResponse:
    pack = pack_now()
    params = {key: request.GET.get(key, "").strip()[:100] for key in FILTERS}
    page = Paginator(section_search(**params), 20).get_page(request.GET.get("page"))
    types = {pt.code: pt.label for pt in pack.sections.project_types}
    query = urlencode({k: v for k, v in params.items() if v})
    return render(
        request,
        "portal/sections.html",
        {
            "page": page,
            "rows": [(s, types.get(s.project_type, s.project_type)) for s in page.object_list],
            "filters": params,
            "filtered": any(params.values()),
            "query": query,
            "project_types": pack.sections.project_types,
            "statuses": Section.Status.choices,
            "locations": pack.sections.locations,
        },
    )


def section_detail(request: HttpRequest, code: str) -> HttpResponse:
    pack = pack_now()
    section = Section.objects.filter(code=code).first()
    if section is None:
        raise Http404("标段不存在")
    closed = ""
    try:
        section_accepting(section=section)
    except DomainError as exc:
        closed = exc.message
    mine = []
    operator = getattr(request.user, "operator", None)
    if isinstance(operator, Operator):
        mine = [
            (o, state_label(pack=pack, state=o.state))
            for o in order_list_for_enterprise(enterprise=operator.enterprise).filter(section=section)
        ]
    live = {o.deposit_kind: o for o, _ in mine if o.live}
    # 保证金服务: one card per deposit kind the pack offers, with the section's amount and deadline.
    cards = [
        {"kind": d.kind.value, "label": d.label, "order": live.get(d.kind.value)} for d in pack.products.deposit_kinds
    ]
    issuer_kinds = [
        {
            "label": k.label,
            "issuers": [
                {
                    "name": i.name,
                    "short_name": i.short_name,
                    "logo": theme_static_url(i.logo) if i.logo else "",
                    "sample": i.sample,
                }
                for i in pack.issuers
                if i.kind == k.kind
            ],
        }
        for k in pack.products.issuer_kinds
    ]
    return render(
        request,
        "portal/section.html",
        {
            "section": section,
            "project_type_label": {pt.code: pt.label for pt in pack.sections.project_types}.get(
                section.project_type, section.project_type
            ),
            "closed": closed,
            "deposit_kinds": pack.products.deposit_kinds,
            "deposit_cards": cards,
            "issuer_kinds": [k for k in issuer_kinds if k["issuers"]],
            "allocated": pack.issuer_choice.mode == IssuerChoiceMode.RANDOM_ALLOCATION,
            "platform_label": allocation_label(pack),
            "my_orders": mine,
        },
    )
