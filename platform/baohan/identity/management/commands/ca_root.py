"""``ca_root CENTRE FILE``: trust the CA root(s) in a PEM file for CA-key logins on a centre."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from baohan.identity.services.logins import ca_root_trust
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Trust the CA root certificate(s) in a PEM file for a centre's CA-key logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("centre")
        parser.add_argument("pem", type=Path)
        parser.add_argument("--name", default="", help="A label for the root; defaults to the file name.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(code=options["centre"]).first()
        if tenant is None:
            raise CommandError(f"no centre {options['centre']!r}")
        path: Path = options["pem"]
        try:
            pem = path.read_text()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        with tenant_context(tenant):
            try:
                row = ca_root_trust(name=options["name"] or path.name, pem=pem)
            except ValueError as exc:
                raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(
            f"{tenant.code}: trusts {row.name} (sha256 {row.fingerprint_sha256}, until {row.not_after:%Y-%m-%d})"
        )
