"""``migrate_schemas`` (and ``migrate``): django-tenants' migrate_schemas, paced by the work pending.

A whole run over the centres (``migrate_schemas`` or ``migrate_schemas --tenant``, no schema, app or
flags that change what is applied) migrates the template schema first (new centres are copied from
it, tenants/cloning.py, and its snapshot is retaken when it changed), then reads from the catalog
which centres' schemas are behind it and migrates only those, each on its own
(tenants/releases.py): a release with nothing to do costs a few statements however many centres
there are. A schema that fails is named, the others go on, and the command exits non-zero. Any other
use (one schema, an app, ``--fake``, ``--plan``, ``--check`` …) is django-tenants' own.
"""

from __future__ import annotations

import functools
import multiprocessing
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors.base import run_migrations
from django_tenants.utils import get_tenant_database_alias

from tenants.cloning import template_refresh
from tenants.releases import release_migrate

_STOCK_ONLY = ("schema_name", "app_label", "fake", "fake_initial", "plan", "check_unapplied", "prune", "run_syncdb")


def _migrate_one(args: tuple[Any, ...], options: dict[str, Any], codename: str, schema: str) -> tuple[str, str]:
    """Migrate ``schema``; ``(schema, "")`` when it went well, else ``(schema, reason)``."""
    try:
        run_migrations(args, options, codename, schema, allow_atomic=False)
    except Exception as exc:  # noqa: BLE001 - reported by name; the other schemas go on
        return schema, f"{type(exc).__name__}: {exc}".strip()[:500]
    finally:
        connection = connections[get_tenant_database_alias()]
        connection.close()
    return schema, ""


class Command(MigrateSchemasCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options.get("verbosity", 1))
        if any(options.get(name) for name in _STOCK_ONLY):
            super().handle(*args, **options)
            return
        tenant_only = bool(options.get("tenant"))
        if options.get("shared") or not tenant_only:
            super().handle(*args, **{**options, "shared": True, "tenant": False})
            if options.get("shared") and not tenant_only:
                return
        self._release(args, options, verbosity)

    def _release(self, args: tuple[Any, ...], options: dict[str, Any], verbosity: int) -> None:
        snapshot = template_refresh(verbosity=max(0, verbosity - 1))
        if verbosity > 0:
            self.stdout.write(f"Tenant template is current (snapshot {snapshot.fingerprint[:12]}).")
        codename = str(options.get("executor") or getattr(settings, "TENANT_MIGRATION_EXECUTOR", "standard"))
        run_options = {**options, "shared": False, "tenant": True}

        def migrate_many(schemas: list[str]) -> dict[str, str]:
            migrate = functools.partial(_migrate_one, args, run_options, codename)
            processes = int(getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", 2))
            if codename != "multiprocessing" or len(schemas) < 2 or processes < 2:
                results = [migrate(schema) for schema in schemas]
            else:
                connections[get_tenant_database_alias()].close()  # not shared with forked workers
                context = multiprocessing.get_context("fork")
                with context.Pool(processes=min(processes, len(schemas))) as pool:
                    results = pool.map(migrate, schemas, chunksize=1)
            return {schema: reason for schema, reason in results if reason}

        report = release_migrate(migrate_many=migrate_many, say=self.stdout.write if verbosity > 0 else _quiet)
        if verbosity > 0:
            self.stdout.write(
                f"Centre schemas: {report.checked} checked, {len(report.migrated)} migrated, "
                f"{len(report.failed)} failed, in {report.seconds:.2f} s ({report.rounds} pass(es))."
            )
        if report.failed:
            lines = "\n".join(f"  {schema}: {reason}" for schema, reason in sorted(report.failed.items()))
            raise CommandError(f"{len(report.failed)} centre schema(s) failed to migrate:\n{lines}")


def _quiet(_message: str) -> None:
    return None
