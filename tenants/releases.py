"""A release's migrations at the cost of the work pending, not of the number of centres.

Every centre's schema records its applied migrations in its own ``django_migrations``. The template
schema (``TENANT_TEMPLATE_SCHEMA``, the source new centres are copied from) is migrated first; a
centre is then *behind* when its schema lacks any migration the template has. One catalog statement
per ``CHUNK`` schemas reads that for every centre, so a release with nothing to do costs a few
statements, and a release with work migrates only the schemas behind, each on its own: one that
fails is named and the others go on. Centres onboarded while the release runs are checked again at
the end (they may have been copied from the template before it was migrated).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection

from tenants.cloning import template_schema

CHUNK = 400  # schemas per catalog statement (one UNION ALL each)
ROUNDS = 3  # passes over the catalog: the release's own, then centres onboarded meanwhile


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tenant_schemas() -> list[str]:
    """The schema of every centre, as listed in the public schema."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM tenants_tenant WHERE schema_name <> 'public' ORDER BY schema_name")
        return [row[0] for row in cursor.fetchall()]


def schemas_behind(schemas: Iterable[str] | None = None) -> list[str]:
    """Of ``schemas`` (every centre's by default), those missing a migration the template has, or
    with no migration table at all; in order."""
    wanted = tenant_schemas() if schemas is None else list(schemas)
    if not wanted:
        return []
    template = template_schema()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname FROM pg_catalog.pg_tables"
            " WHERE tablename = 'django_migrations' AND schemaname = ANY(%s)",
            [[*wanted, template]],
        )
        migrated = {row[0] for row in cursor.fetchall()}
        if template not in migrated:
            return wanted  # nothing to compare with: every schema is to be migrated
        cursor.execute(f"SELECT count(*) FROM {_quoted(template)}.django_migrations")
        expected = int(cursor.fetchone()[0])
        current: set[str] = set()
        present = [s for s in wanted if s in migrated]
        for start in range(0, len(present), CHUNK):
            chunk = present[start : start + CHUNK]
            union = " UNION ALL ".join(
                f"SELECT %s AS schema_name, app, name FROM {_quoted(schema)}.django_migrations" for schema in chunk
            )
            cursor.execute(
                f"SELECT m.schema_name FROM ({union}) m "
                f"JOIN {_quoted(template)}.django_migrations t ON t.app = m.app AND t.name = m.name "
                "GROUP BY m.schema_name HAVING count(*) = %s",
                [*chunk, expected],
            )
            current.update(row[0] for row in cursor.fetchall())
    return [s for s in wanted if s not in current]


@dataclass
class ReleaseReport:
    checked: int = 0
    migrated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    rounds: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def release_migrate(
    *, migrate_many: Callable[[list[str]], dict[str, str]], say: Callable[[str], None] = lambda _m: None
) -> ReleaseReport:
    """Migrate every centre's schema that is behind the (already migrated) template with
    ``migrate_many(schemas)``, which migrates each on its own and returns the failed ones with their
    reasons (the others go on). Then look again for schemas behind (centres onboarded meanwhile), at
    most ``ROUNDS`` passes in all. A failed schema is not retried within the release."""
    started = time.perf_counter()
    report = ReleaseReport()
    for _round in range(ROUNDS):
        report.rounds += 1
        schemas = tenant_schemas()
        report.checked = max(report.checked, len(schemas))
        pending = [s for s in schemas_behind(schemas) if s not in report.failed]
        if not pending:
            break
        say(f"{len(pending)} of {len(schemas)} centre schemas are behind the template: migrating them.")
        failed = migrate_many(pending)
        report.failed.update(failed)
        report.migrated.extend(s for s in pending if s not in failed)
    report.seconds = time.perf_counter() - started
    return report
