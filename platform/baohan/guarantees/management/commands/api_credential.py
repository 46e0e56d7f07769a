"""``api_credential CENTRE --kind centre|issuer [--issuer CODE]``: make an API credential; its
token is printed once and never stored."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from baohan.guarantees.api.auth import credential_create
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack


class Command(BaseCommand):
    help = "Create an API credential for a centre or for one of its issuers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("centre", help="The centre's code.")
        parser.add_argument("--kind", choices=["centre", "issuer"], required=True)
        parser.add_argument("--issuer", default="", help="The issuer's code in the centre's rule pack.")
        parser.add_argument("--label", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(code=options["centre"]).first()
        if tenant is None:
            raise CommandError(f"unknown centre {options['centre']!r}")
        issuer = options["issuer"]
        if options["kind"] == "issuer":
            codes = [i.code for i in tenant_rule_pack(tenant=tenant).issuers]
            if issuer not in codes:
                raise CommandError(f"--issuer must be one of: {', '.join(codes)}")
        elif issuer:
            raise CommandError("--issuer is only for --kind issuer")
        with tenant_context(tenant):
            _, token = credential_create(kind=options["kind"], issuer_code=issuer, label=options["label"])
        self.stdout.write(token)
