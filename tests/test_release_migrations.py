"""A release migrates only the centres' schemas that are behind the template, each on its own: nothing
to do costs nothing per centre; one schema behind is brought up; one that fails is named and the job
exits non-zero while the others are migrated; a centre onboarded during the release is caught."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tenants.cloning import schema_create_by_clone, schema_drop
from tenants.models import Tenant
from tenants.releases import release_migrate, schemas_behind, tenant_schemas

pytestmark = pytest.mark.usefixtures("committed_db")

PROBES = ("release_a", "release_b", "release_c")


def probe_make(schema: str) -> None:
    schema_create_by_clone(schema)
    Tenant.objects.create(schema_name=schema, code=schema.replace("_", "-"), name=schema, theme="base")


def probe_remove(schema: str) -> None:
    connection.set_schema_to_public()
    Tenant.objects.filter(schema_name=schema).delete()
    schema_drop(schema)


@pytest.fixture
def probes() -> Iterator[tuple[str, ...]]:
    for schema in PROBES:
        probe_make(schema)
    try:
        yield PROBES
    finally:
        for schema in (*PROBES, "release_d"):
            probe_remove(schema)


def put_behind(schema: str) -> None:
    """Unapply one app's migrations in ``schema`` (django-tenants' own path for one schema)."""
    call_command("migrate_schemas", "issuerdesk", "zero", schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def table_exists(schema: str, table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s", [schema, table])
        return cursor.fetchone() is not None


def release(*, executor: str = "standard") -> str:
    out = io.StringIO()
    call_command("migrate_schemas", tenant=True, executor=executor, interactive=False, stdout=out)
    connection.set_schema_to_public()
    return out.getvalue()


def test_nothing_to_do_migrates_no_schema(probes: tuple[str, ...]) -> None:
    assert schemas_behind() == []
    output = release()
    checked = len(tenant_schemas())
    assert f"Centre schemas: {checked} checked, 0 migrated, 0 failed" in output


def test_only_the_schema_behind_is_migrated(probes: tuple[str, ...]) -> None:
    put_behind("release_b")
    assert not table_exists("release_b", "issuerdesk_issuermember")
    assert schemas_behind() == ["release_b"]
    output = release(executor="multiprocessing")
    assert "1 of " in output
    assert "1 migrated, 0 failed" in output
    assert table_exists("release_b", "issuerdesk_issuermember")
    assert schemas_behind() == []


def test_a_failing_schema_is_named_and_the_others_are_migrated(probes: tuple[str, ...]) -> None:
    put_behind("release_a")
    put_behind("release_c")
    with connection.cursor() as cursor:  # something in the way of release_c's migration
        cursor.execute("CREATE TABLE release_c.issuerdesk_issuermember (x int)")
    with pytest.raises(CommandError) as failed:
        release()
    assert "release_c" in str(failed.value)
    assert "release_a" not in str(failed.value)
    assert "already exists" in str(failed.value)
    assert schemas_behind() == ["release_c"]  # release_a was migrated all the same
    assert table_exists("release_a", "issuerdesk_issuermember")


def test_a_centre_onboarded_during_the_release_is_caught(probes: tuple[str, ...]) -> None:
    put_behind("release_a")
    passes: list[list[str]] = []

    def migrate_many(schemas: list[str]) -> dict[str, str]:
        passes.append(list(schemas))
        for schema in schemas:
            call_command("migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=0)
            connection.set_schema_to_public()
        if len(passes) == 1:  # onboarded from a template copy older than the release
            probe_make("release_d")
            put_behind("release_d")
        return {}

    report = release_migrate(migrate_many=migrate_many)
    assert passes == [["release_a"], ["release_d"]]
    assert report.ok
    assert report.migrated == ["release_a", "release_d"]
    assert schemas_behind() == []
