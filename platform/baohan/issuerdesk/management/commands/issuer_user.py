"""``issuer_user --centre CODE --issuer CODE --phone PHONE``: create or update an issuer's staff account.

The account is a staff account of that centre's schema bound to one issuer of the centre's pack; it
signs in at ``/issuer/login/`` on the centre's host with phone and password, then an SMS code sent to
that phone. The password comes as for ``staff_user``: ``--password``; else, on a terminal, a prompt;
else a new account gets one generated and printed once (``--random-password`` asks for that)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import Q
from django_tenants.utils import tenant_context

from baohan.guarantees.errors import DomainError
from baohan.identity.fields import mask_phone
from baohan.identity.management.commands.staff_user import Command as StaffUserCommand
from baohan.identity.models import UserPhone
from baohan.issuerdesk.services import issuer_account_upsert
from tenants.models import Tenant


class Command(StaffUserCommand):
    help = "Create or update an issuer's staff account of one centre (signs in at /issuer/login/)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--issuer", required=True, help="The issuer's code in the centre's rule pack.")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["centre"]
        tenant = Tenant.objects.filter(Q(code=code) | Q(schema_name=code)).exclude(schema_name="public").first()
        if tenant is None:
            raise CommandError(f"no centre {code!r}")
        with tenant_context(tenant):
            exists = UserPhone.objects.filter(
                phone=options["phone"].strip(), user__issuer_member__isnull=False
            ).exists()
            password, shown = self._password(options, keep=exists or options["deactivate"])
            try:
                account = issuer_account_upsert(
                    issuer_code=options["issuer"],
                    phone=options["phone"],
                    password=password,
                    name=options["name"],
                    active=not options["deactivate"],
                    actor_label="命令行 issuer_user",
                )
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        verb = "created" if account.created else "updated"
        state = "inactive" if options["deactivate"] else "active"
        self.stdout.write(
            f"{tenant.code}: issuer account {mask_phone(account.phone)} of {account.issuer_code} {verb} ({state})"
        )
        if shown:
            self.stdout.write(f"password (shown once): {password}")
        elif password is None:
            self.stdout.write("password unchanged")
