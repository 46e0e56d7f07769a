"""``ledger_check [CENTRE ...]``: report every order whose ledger does not balance; exit 1 if any."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from baohan.payments.selectors import ledger_problems
from tenants.models import Tenant
from tenants.selectors import tenant_list_active


class Command(BaseCommand):
    help = "Check every order's ledger (all centres, or those named); exits 1 when an order does not balance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("centres", nargs="*")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = (
            list(Tenant.objects.filter(code__in=options["centres"])) if options["centres"] else tenant_list_active()
        )
        missing = set(options["centres"]) - {t.code for t in tenants}
        if missing:
            raise CommandError(f"no centre {', '.join(sorted(missing))}")
        bad = 0
        for tenant in tenants:
            with tenant_context(tenant):
                problems = ledger_problems()
            for p in problems:
                self.stdout.write(f"{tenant.code} order {p.number} (id {p.order_id}): {p.problem}")
            bad += len(problems)
            if not problems:
                self.stdout.write(f"{tenant.code}: ledger balances")
        if bad:
            raise CommandError(f"{bad} order(s) do not balance")
