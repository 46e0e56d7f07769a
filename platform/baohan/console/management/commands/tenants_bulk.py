"""``tenants_bulk revalidate|migrate``: the console's bulk operations from the command line, with a
progress bar and one line per centre."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from baohan.console.audit import console_action_record
from baohan.console.models import BulkOperation
from baohan.console.operations import CentreResult, bulk_operation_run
from tenants.models import Tenant

WIDTH = 30


class Command(BaseCommand):
    help = "Re-validate every centre's rule pack, or migrate every centre's schema, with progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=BulkOperation.Kind.values)

    def handle(self, *args: Any, **options: Any) -> None:
        op = BulkOperation.objects.create(
            kind=options["kind"], total=Tenant.objects.exclude(schema_name="public").count()
        )
        console_action_record(actor=None, action=f"bulk_{op.kind}", detail={"operation": op.pk})

        def progress(current: BulkOperation, result: CentreResult) -> None:
            filled = int(WIDTH * current.done / current.total) if current.total else WIDTH
            bar = "#" * filled + "-" * (WIDTH - filled)
            mark = "ok" if result.ok else "FAILED"
            self.stdout.write(f"[{bar}] {current.done}/{current.total} {result.code}: {mark} {result.message}")

        bulk_operation_run(op_id=op.pk, progress=progress)
        op.refresh_from_db()
        if op.state == BulkOperation.State.FAILED:
            raise CommandError(f"{op.get_kind_display()}: some centres failed (operation {op.pk})")
        self.stdout.write(self.style.SUCCESS(f"{op.get_kind_display()}: all {op.total} centres done"))
