"""``seed_demo``: give every active centre demo sections, a demo bidder and demo API
credentials (existing ones are kept). Development only."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from baohan.guarantees.services.demo import DEMO_PASSWORD, demo_accounts_seed
from baohan.identity.services.demo import demo_identity_seed
from baohan.sections.services import section_seed_demo
from tenants.selectors import tenant_list_active, tenant_rule_pack


class Command(BaseCommand):
    help = "Create demo sections, a demo bidder and demo API credentials for every active centre."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo data has published secrets: refusing with DEBUG off")
        for tenant in tenant_list_active():
            with tenant_context(tenant):
                pack = tenant_rule_pack(tenant=tenant)
                created = section_seed_demo(pack=pack, prefix=tenant.code)
                accounts = demo_accounts_seed(pack=pack, centre=tenant.code)
                accounts += demo_identity_seed(pack=pack)
            self.stdout.write(f"{tenant.code}: {created} demo section(s) created")
            for item in accounts:
                self.stdout.write(f"{tenant.code}: {item}")
        from django.contrib.auth.models import User

        from baohan.console.services import DEMO_CONSOLE_PASSWORD, DEMO_CONSOLE_USER, console_user_grant

        if not User.objects.filter(username=DEMO_CONSOLE_USER).exists():
            console_user_grant(username=DEMO_CONSOLE_USER, kind="platform_admin", password=DEMO_CONSOLE_PASSWORD)
        self.stdout.write(f"demo bidder login (phone and password): 13800000000 / {DEMO_PASSWORD}")
        self.stdout.write(
            f"console (platform admin): http://localhost:8000/console/ {DEMO_CONSOLE_USER} / {DEMO_CONSOLE_PASSWORD}"
        )
        self.stdout.write("demo hand-off link and CA driver: http://<centre>.localhost:8000/dev/")
