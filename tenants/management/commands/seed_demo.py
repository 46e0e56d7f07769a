"""``seed_demo``: give every active centre a few demo sections (existing ones are kept)."""

from typing import Any

from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from baohan.sections.services import section_seed_demo
from tenants.selectors import tenant_list_active, tenant_rule_pack


class Command(BaseCommand):
    help = "Create demo sections for every active centre."

    def handle(self, *args: Any, **options: Any) -> None:
        for tenant in tenant_list_active():
            with tenant_context(tenant):
                created = section_seed_demo(pack=tenant_rule_pack(tenant=tenant), prefix=tenant.code)
            self.stdout.write(f"{tenant.code}: {created} demo section(s) created")
