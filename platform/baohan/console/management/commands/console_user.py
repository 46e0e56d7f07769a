"""``console_user <username> --role platform_admin|centre_staff|issuer_staff [--centre C] [--issuer I]``:
a console account and its role (the password is asked for, or ``--password``)."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from baohan.console.models import ConsoleRole
from baohan.console.services import console_user_grant
from baohan.guarantees.errors import DomainError


class Command(BaseCommand):
    help = "Create a console user (public schema) and give them a role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ConsoleRole.Kind.values)
        parser.add_argument("--centre", default="")
        parser.add_argument("--issuer", default="")
        parser.add_argument("--password", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        if not password and options.get("interactive", True):
            from django.contrib.auth.models import User

            if not User.objects.filter(username=options["username"]).exists():
                password = getpass.getpass("Password: ")
        try:
            role = console_user_grant(
                username=options["username"],
                kind=options["role"],
                password=password,
                centre=options["centre"],
                issuer=options["issuer"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        scope = role.tenant.code if role.tenant else "all centres"
        self.stdout.write(f"{options['username']}: {role.get_kind_display()} ({scope})")
