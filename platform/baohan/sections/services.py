"""Writing sections. Demo sections give a fresh installation something to look at."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from baohan.rulepacks.models import RulePack
from baohan.sections.models import Section

DEMO_AMOUNTS = [Decimal("1000000.00"), Decimal("200000.00"), Decimal("56000.00"), Decimal("10000.00")]


@transaction.atomic
def section_seed_demo(*, pack: RulePack, prefix: str, count: int = 4) -> int:
    """Create up to ``count`` demo sections from the pack's project types; returns how many were new."""
    now = timezone.now().replace(microsecond=0)
    types = pack.sections.project_types
    locations = pack.sections.locations or [""]
    validity = pack.sections.bid_validity_days or [90]
    created = 0
    for i in range(count):
        project_type = types[i % len(types)]
        opening = now + timedelta(days=7 + 3 * i, hours=i)
        _, was_created = Section.objects.get_or_create(
            code=f"{prefix.upper()}-DEMO-{i + 1:03d}",
            defaults={
                "name": f"示例工程第{i + 1}标段（{project_type.label}）",
                "project_code": f"{prefix.upper()}-P{i // 2 + 1:03d}",
                "project_name": f"示例项目{i // 2 + 1}",
                "project_type": project_type.code,
                "location": locations[i % len(locations)],
                "deposit_amount": DEMO_AMOUNTS[i % len(DEMO_AMOUNTS)],
                "deposit_deadline": opening - timedelta(days=1),
                "opening_time": opening,
                "bid_validity_days": validity[i % len(validity)],
            },
        )
        created += was_created
    return created
