from __future__ import annotations

from django.db.models import QuerySet

from baohan.sections.models import Section


def section_list_upcoming(*, limit: int = 10) -> QuerySet[Section]:
    return Section.objects.order_by("opening_time", "code")[:limit]
