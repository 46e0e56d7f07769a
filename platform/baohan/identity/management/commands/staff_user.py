"""``staff_user --centre CODE --phone PHONE``: create or update a centre's staff account.

The password comes from ``--password``; else, on a terminal, from a prompt (typed twice; empty keeps
an existing account's password); else a new account gets one generated and printed once
(``--random-password`` asks for that in any case). Staff sign in at ``/staff/login/`` on the
centre's host."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django_tenants.utils import tenant_context

from baohan.guarantees.errors import DomainError
from baohan.identity.fields import mask_phone
from baohan.identity.models import UserPhone
from baohan.identity.services.staff import staff_account_upsert, staff_password_generate
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create or update a staff account of one centre (signs in at /staff/login/ with phone and password)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--centre", "--schema", dest="centre", required=True, help="The centre's code (schema).")
        parser.add_argument("--phone", required=True, help="The phone the staff member signs in with.")
        parser.add_argument("--name", default="", help="The staff member's name, recorded on every action.")
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument("--password", default=None, help="The password (else prompted, or generated).")
        secret.add_argument("--random-password", action="store_true", help="Generate a password and print it once.")
        parser.add_argument(
            "--deactivate", action="store_true", help="Disable the account (keeps its password unless one is given)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["centre"]
        tenant = Tenant.objects.filter(Q(code=code) | Q(schema_name=code)).exclude(schema_name="public").first()
        if tenant is None:
            raise CommandError(f"no centre {code!r}")
        with tenant_context(tenant):
            exists = UserPhone.objects.filter(phone=options["phone"].strip(), user__is_staff=True).exists()
            password, shown = self._password(options, keep=exists or options["deactivate"])
            try:
                account = staff_account_upsert(
                    phone=options["phone"],
                    password=password,
                    name=options["name"],
                    active=not options["deactivate"],
                    actor_label="命令行 staff_user",
                )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        verb = "created" if account.created else "updated"
        state = "inactive" if options["deactivate"] else "active"
        self.stdout.write(f"{tenant.code}: staff account {mask_phone(account.phone)} {verb} ({state})")
        if shown:
            self.stdout.write(f"password (shown once): {password}")
        elif password is None:
            self.stdout.write("password unchanged")

    def _password(self, options: dict[str, Any], *, keep: bool) -> tuple[str | None, bool]:
        """The password to set and whether to print it; ``None`` keeps the current one."""
        if options["password"] is not None:
            return str(options["password"]), False
        if options["random_password"]:
            return staff_password_generate(), True
        if options["deactivate"]:
            return None, False
        if sys.stdin.isatty():
            first = getpass.getpass("Password: ")
            if not first and keep:
                return None, False
            if getpass.getpass("Password (again): ") != first:
                raise CommandError("the two passwords differ")
            return first, False
        if keep:  # an update without a terminal keeps the password
            return None, False
        return staff_password_generate(), True
