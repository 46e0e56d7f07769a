"""``seed_demo``: give every active centre demo sections, a demo bidder, demo API credentials, one
staff account and one issuer-workbench account per issuer on its panel (existing ones are kept;
the demo accounts' passwords are set to the published demo ones). Development only."""

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from baohan.guarantees.errors import DomainError
from baohan.guarantees.services.demo import DEMO_PASSWORD, demo_accounts_seed
from baohan.identity.services.demo import demo_identity_seed
from baohan.identity.services.staff import staff_account_upsert
from baohan.issuerdesk.services import issuer_account_upsert
from baohan.rulepacks.models import RulePack
from baohan.sections.services import section_seed_demo
from tenants.models import Tenant
from tenants.selectors import tenant_list_active, tenant_rule_pack

DEMO_STAFF_PHONE = "13900000000"
DEMO_STAFF_PASSWORD = "demo-staff-2026"  # noqa: S105 - a published development password
DEMO_ISSUER_PASSWORD = "demo-issuer-2026"  # noqa: S105 - a published development password


def demo_issuer_phone(index: int) -> str:
    return f"137{index:08d}"


class Command(BaseCommand):
    help = "Create demo sections, a demo bidder, demo API credentials and demo staff and issuer accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", "8000")), help="The port the site is served at."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo data has published secrets: refusing with DEBUG off")
        port = options["port"]
        for tenant in tenant_list_active():
            with tenant_context(tenant):
                pack = tenant_rule_pack(tenant=tenant)
                created = section_seed_demo(pack=pack, prefix=tenant.code)
                accounts = demo_accounts_seed(pack=pack, centre=tenant.code)
                accounts += demo_identity_seed(pack=pack)
                sign_ins = self._desk_accounts(tenant=tenant, pack=pack, port=port)
            self.stdout.write(f"{tenant.code}: {created} demo section(s) created")
            for item in [*accounts, *sign_ins]:
                self.stdout.write(f"{tenant.code}: {item}")
        from django.contrib.auth.models import User

        from baohan.console.services import DEMO_CONSOLE_PASSWORD, DEMO_CONSOLE_USER, console_user_grant

        if not User.objects.filter(username=DEMO_CONSOLE_USER).exists():
            console_user_grant(username=DEMO_CONSOLE_USER, kind="platform_admin", password=DEMO_CONSOLE_PASSWORD)
        self.stdout.write(f"demo bidder login (phone and password): 13800000000 / {DEMO_PASSWORD}")
        self.stdout.write(
            f"console (platform admin): http://localhost:{port}/console/ {DEMO_CONSOLE_USER} / {DEMO_CONSOLE_PASSWORD}"
        )
        self.stdout.write(f"demo hand-off link, CA driver and SMS outbox: http://<centre>.localhost:{port}/dev/")

    def _desk_accounts(self, *, tenant: Tenant, pack: RulePack, port: int) -> list[str]:
        """The centre's demo staff member and one demo staff member per issuer, with their sign-ins
        (password, then the SMS code from the dev outbox)."""
        host = next((d.domain for d in tenant.domains.order_by("-is_primary", "domain")), f"{tenant.code}.localhost")
        site = f"http://{host}:{port}"
        lines: list[str] = []
        try:
            staff_account_upsert(
                phone=DEMO_STAFF_PHONE, password=DEMO_STAFF_PASSWORD, name="演示工作人员", actor_label="seed_demo"
            )
            lines.append(f"staff sign-in: {site}/staff/login/ {DEMO_STAFF_PHONE} / {DEMO_STAFF_PASSWORD}")
        except DomainError as exc:
            lines.append(f"staff account not seeded: {exc.message}")
        for index, issuer in enumerate(pack.issuers, start=1):
            phone = demo_issuer_phone(index)
            try:
                issuer_account_upsert(
                    issuer_code=issuer.code,
                    phone=phone,
                    password=DEMO_ISSUER_PASSWORD,
                    name=f"{issuer.short_name}演示",
                    actor_label="seed_demo",
                )
            except DomainError as exc:
                lines.append(f"issuer {issuer.code} account not seeded: {exc.message}")
                continue
            who = f"issuer {issuer.code} ({issuer.short_name})"
            lines.append(f"{who} sign-in: {site}/issuer/login/ {phone} / {DEMO_ISSUER_PASSWORD}")
        return lines
