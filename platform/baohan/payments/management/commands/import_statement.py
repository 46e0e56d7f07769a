"""``import_statement CENTRE ISSUER FILE [--account N] [--layout CODE]``: import a bank statement
export of one of the issuer's receiving accounts; lines seen before add nothing."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from baohan.guarantees.errors import DomainError
from baohan.guarantees.states import Actor
from baohan.payments.models import StatementImport
from baohan.payments.services.intake import statement_import_file
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Import a bank statement (CSV or Excel) for an issuer's receiving account, then match it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("centre")
        parser.add_argument("issuer")
        parser.add_argument("file", type=Path)
        parser.add_argument("--account", default="", help="receiving account number (default: the issuer's)")
        parser.add_argument("--layout", default="", help="statement layout code (default: the account's)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(code=options["centre"]).first()
        if tenant is None:
            raise CommandError(f"no centre {options['centre']!r}")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no file {path}")
        with tenant_context(tenant):
            try:
                result = statement_import_file(
                    issuer_code=options["issuer"],
                    content=path.read_bytes(),
                    filename=path.name,
                    actor=Actor.system(f"命令导入 {path.name}"),
                    account_number=options["account"],
                    layout_code=options["layout"],
                    source=StatementImport.Source.COMMAND,
                )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{tenant.code}: {result.lines_total} line(s) read, {result.lines_new} new, "
            f"{result.lines_total - result.lines_new} seen before"
        )
