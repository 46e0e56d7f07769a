"""``bank_key CENTRE ISSUER ACCOUNT KEY_ID``: set the key a bank signs statement pushes with
(secret read from standard input, stored encrypted)."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from baohan.guarantees.errors import DomainError
from baohan.payments.services.intake import bank_push_key_set
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Set a bank's push key for one receiving account; the secret is read from standard input."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("centre")
        parser.add_argument("issuer")
        parser.add_argument("account")
        parser.add_argument("key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(code=options["centre"]).first()
        if tenant is None:
            raise CommandError(f"no centre {options['centre']!r}")
        secret = sys.stdin.readline().strip()
        with tenant_context(tenant):
            try:
                bank_push_key_set(
                    key_id=options["key_id"],
                    issuer_code=options["issuer"],
                    account_number=options["account"],
                    secret=secret,
                )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        self.stdout.write(f"{tenant.code}: bank push key {options['key_id']} set")
