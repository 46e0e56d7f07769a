"""``outbox_parked``: the parked outbox rows of every centre; ``--release ID --centre CODE`` (or
``--release-all --centre CODE``) sets them back in line, for the next sweep to relay."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, tenant_context

from baohan.outbox.services import OutboxReleaseRefused, outbox_parked_list, outbox_release
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "List the outbox rows parked in every centre (after repeated failures of their own); "
        "--release ID --centre CODE or --release-all --centre CODE releases them for the next sweep."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--centre", help="the centre's code (or schema name)")
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--release", type=int, action="append", metavar="ID", help="a parked row's id (repeatable)")
        which.add_argument("--release-all", action="store_true", help="every parked row of --centre")

    def handle(self, *args: Any, **options: Any) -> None:
        code: str | None = options["centre"]
        ids: list[int] | None = options["release"]
        release_all: bool = options["release_all"]
        tenant = _centre(code) if code else None
        if ids is None and not release_all:
            self._list(tenant)
            return
        if tenant is None:
            raise CommandError("releasing needs --centre CODE: row ids are a centre's own")
        with tenant_context(tenant):
            try:
                released = outbox_release(ids=None if release_all else ids)
            except OutboxReleaseRefused as exc:
                raise CommandError(f"{tenant.code}: nothing released ({exc})") from exc
        if not released:
            self.stdout.write(f"{tenant.code}: no parked rows")
            return
        self.stdout.write(
            self.style.SUCCESS(f"{tenant.code}: released {released} row(s); the next outbox sweep relays them")
        )

    def _list(self, tenant: Tenant | None) -> None:
        rows = outbox_parked_list(schema_names=None if tenant is None else [tenant.schema_name])
        if not rows:
            self.stdout.write("no parked rows" + (f" in {tenant.code}" if tenant else ""))
            return
        self.stdout.write("centre\tschema\tid\ttask\ttask_errors\tparked_at\tlast_error")
        for row in rows:
            self.stdout.write(
                f"{row.centre}\t{row.schema_name}\t{row.id}\t{row.task}\t{row.task_errors}\t"
                f"{row.parked_at.isoformat()}\t{row.last_error or '-'}"
            )


def _centre(code: str) -> Tenant:
    centres = Tenant.objects.exclude(schema_name=get_public_schema_name())
    tenant: Tenant | None = centres.filter(code=code).first() or centres.filter(schema_name=code).first()
    if tenant is None:
        raise CommandError(f"no centre {code!r}")
    return tenant
