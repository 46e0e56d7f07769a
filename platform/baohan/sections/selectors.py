from __future__ import annotations

from django.db.models import Q, QuerySet

from baohan.sections.models import Section


def section_list_upcoming(*, limit: int = 10) -> QuerySet[Section]:
    return Section.objects.order_by("opening_time", "code")[:limit]


def section_search(*, q: str = "", project_type: str = "", status: str = "", location: str = "") -> QuerySet[Section]:
    """Sections by name, code or project name, narrowed by project type, status and location."""
    qs = Section.objects.all()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(project_name__icontains=q))
    for key, value in (("project_type", project_type), ("status", status), ("location", location)):
        if value:
            qs = qs.filter(**{key: value})
    return qs.order_by("opening_time", "code")
