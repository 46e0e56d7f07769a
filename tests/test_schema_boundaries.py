"""What a path past one PostgreSQL needs (README, "Scaling"): each centre's schema is a unit that can
be moved whole (to another server, or distributed by schema with Citus). So no foreign key leaves a
centre's schema except to a short, listed set of public tables, no model of a centre's app points at
a public model outside that list, and no centre's table is referenced from another schema."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db

# Public tables a centre's rows may reference. Each is small, read-mostly and the same for every
# centre, so a sharded set-up keeps it as a reference table copied to every node.
PUBLIC_REFERENCES: set[str] = set()

# Centre apps (TENANT_APPS that are not also shared): their models live in each centre's schema.
CENTRE_APPS = [a for a in settings.TENANT_APPS if a not in settings.SHARED_APPS]


def test_no_foreign_key_of_a_centres_schema_leaves_it_but_for_the_listed_public_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT src.relname, dst.relname, dn.nspname
                 FROM pg_constraint c
                 JOIN pg_class src ON src.oid = c.conrelid JOIN pg_namespace sn ON sn.oid = src.relnamespace
                 JOIN pg_class dst ON dst.oid = c.confrelid JOIN pg_namespace dn ON dn.oid = dst.relnamespace
                WHERE c.contype = 'f' AND sn.nspname = ANY(%s) AND dn.nspname <> sn.nspname""",
            [["tenant_template", "xinjiang", "benxi", "xuancheng"]],
        )
        leaving = cursor.fetchall()
        cursor.execute(
            """SELECT count(*) FROM pg_constraint c
                 JOIN pg_class src ON src.oid = c.conrelid JOIN pg_namespace sn ON sn.oid = src.relnamespace
                WHERE c.contype = 'f' AND sn.nspname = 'xinjiang'"""
        )
        inside = cursor.fetchone()[0]
    assert inside > 20  # the check reads real constraints
    assert {(dst, schema) for _src, dst, schema in leaving} <= {(t, "public") for t in PUBLIC_REFERENCES}, leaving


def test_no_centre_table_is_referenced_from_another_schema() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT sn.nspname, src.relname, dn.nspname, dst.relname
                 FROM pg_constraint c
                 JOIN pg_class src ON src.oid = c.conrelid JOIN pg_namespace sn ON sn.oid = src.relnamespace
                 JOIN pg_class dst ON dst.oid = c.confrelid JOIN pg_namespace dn ON dn.oid = dst.relnamespace
                WHERE c.contype = 'f' AND dn.nspname = ANY(%s) AND sn.nspname <> dn.nspname""",
            [["tenant_template", "xinjiang", "benxi", "xuancheng", "paytest"]],
        )
        assert cursor.fetchall() == []


def test_centre_models_point_only_at_centre_models_or_the_listed_public_ones() -> None:
    centre_labels = {apps.get_app_config(a.rsplit(".", 1)[-1]).label for a in CENTRE_APPS}
    tenant_labels = {apps.get_app_config(a.rsplit(".", 1)[-1]).label for a in settings.TENANT_APPS}
    outside = []
    checked = 0
    for label in centre_labels:
        for model in apps.get_app_config(label).get_models():
            for field in model._meta.get_fields():
                target = getattr(field, "related_model", None)
                if target is None or not field.concrete or not field.is_relation:
                    continue
                checked += 1
                if target._meta.app_label not in tenant_labels and target._meta.db_table not in PUBLIC_REFERENCES:
                    outside.append(f"{model.__name__}.{field.name} -> {target._meta.db_table}")
    assert checked > 20
    assert outside == []
