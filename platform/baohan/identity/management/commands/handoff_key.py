"""``handoff_key CENTRE KEY_ID``: set the trading platform's hand-off key (secret read from stdin)."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from baohan.guarantees.errors import DomainError
from baohan.identity.services.logins import handoff_key_set
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Set a centre's hand-off key; the secret is read from standard input and stored encrypted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("centre")
        parser.add_argument("key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(code=options["centre"]).first()
        if tenant is None:
            raise CommandError(f"no centre {options['centre']!r}")
        secret = sys.stdin.readline().strip()
        with tenant_context(tenant):
            try:
                handoff_key_set(key_id=options["key_id"], secret=secret)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        self.stdout.write(f"{tenant.code}: hand-off key {options['key_id']} set")
