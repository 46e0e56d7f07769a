"""A schema made from the template snapshot is identical to one made by running migrations."""

from __future__ import annotations

import pytest
from django.db import connection

from tenants.cloning import (
    PLACEHOLDER,
    SchemaCloneError,
    schema_create_by_clone,
    schema_create_by_migrating,
    snapshot_current,
    snapshot_script_from_dump,
    template_fingerprint,
)
from tenants.models import SchemaSnapshot

pytestmark = pytest.mark.usefixtures("committed_db")


def schema_shape(schema: str) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "columns": """SELECT table_name, column_name, data_type, is_nullable, column_default, character_maximum_length,
                             numeric_precision, numeric_scale, is_identity
                      FROM information_schema.columns WHERE table_schema = %s""",
        "indexes": "SELECT indexname, replace(indexdef, %s, 'S') FROM pg_indexes WHERE schemaname = %s",
        "constraints": """SELECT c.conname, c.contype, pg_get_constraintdef(c.oid)
                          FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s""",
        "storage": """SELECT c.relname, array_to_string(c.reloptions, ',')
                      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = %s AND c.reloptions IS NOT NULL""",
        "migrations": "SELECT app, name FROM {schema}.django_migrations",
        "content_types": "SELECT app_label, model FROM {schema}.django_content_type",
        "permissions": "SELECT codename FROM {schema}.auth_permission",
    }
    shape = {}
    with connection.cursor() as cursor:
        for key, sql in queries.items():
            params: list[str] = [schema]
            if key == "indexes":
                params = [f"{schema}.", schema]
            if "{schema}" in sql:
                sql, params = sql.format(schema=f'"{schema}"'), []
            cursor.execute(sql, params)
            rows = [tuple(str(v).replace(schema, "S") for v in row) for row in cursor.fetchall()]
            shape[key] = sorted(rows)
    return shape


def test_clone_equals_migrate() -> None:
    try:
        schema_create_by_clone("clone_probe")
        schema_create_by_migrating("migrate_probe")
        cloned, migrated = schema_shape("clone_probe"), schema_shape("migrate_probe")
        assert cloned["columns"]
        assert cloned["indexes"]
        assert cloned["constraints"]
        assert cloned["migrations"]
        assert ("guarantees_order", "fillfactor=70") in cloned["storage"]
        assert ("payments_statementline", "fillfactor=50") in cloned["storage"]
        for key in migrated:
            assert cloned[key] == migrated[key], key
        with connection.cursor() as cursor:  # identity sequences continue after the seed rows
            cursor.execute(
                "INSERT INTO clone_probe.django_migrations (app, name, applied) VALUES ('x', 'y', now()) RETURNING id"
            )
            new_id = cursor.fetchone()[0]
            cursor.execute("SELECT max(id) FROM clone_probe.django_migrations WHERE app <> 'x'")
            assert new_id == cursor.fetchone()[0] + 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA IF EXISTS clone_probe CASCADE; DROP SCHEMA IF EXISTS migrate_probe CASCADE")


def test_a_snapshot_is_retaken_when_the_template_changes() -> None:
    first = snapshot_current()
    assert first.fingerprint == template_fingerprint()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenant_template.django_migrations (app, name, applied) VALUES ('probe', '0001', now())"
        )
    try:
        second = snapshot_current()
        assert second.fingerprint != first.fingerprint
        assert "'probe', '0001'" in second.sql
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM tenant_template.django_migrations WHERE app = 'probe'")
        SchemaSnapshot.objects.exclude(pk=first.pk).delete()


def test_clone_refuses_existing_and_reserved_names() -> None:
    with pytest.raises(SchemaCloneError, match="already exists"):
        schema_create_by_clone("xinjiang")
    for name in ("public", "tenant_template", "pg_x", "Bad-Name", ""):
        with pytest.raises(SchemaCloneError, match="cannot be a tenant schema name"):
            schema_create_by_clone(name)


def test_dump_is_rewritten_to_the_placeholder() -> None:
    dump = (
        "--\n-- comment\nSET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n"
        "\\restrict abc\nCREATE SCHEMA tmpl;\nCREATE TABLE tmpl.t (id integer);\n"
        "INSERT INTO tmpl.t VALUES (1);\n\\unrestrict abc\n"
    )
    script = snapshot_script_from_dump(dump, "tmpl")
    assert script == f"CREATE TABLE {PLACEHOLDER}.t (id integer);\nINSERT INTO {PLACEHOLDER}.t VALUES (1);"
    with pytest.raises(SchemaCloneError, match="still present"):
        snapshot_script_from_dump("INSERT INTO x.t VALUES ('tmpl');", "tmpl")
