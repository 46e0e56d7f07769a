"""Median seconds to create a tenant schema: snapshot clone vs migrations vs stock clone.

Runs against a throw-away embedded PostgreSQL cluster (or DATABASE_URL if set, using a
separate database). Usage: ``make bench`` or ``python bench/onboard.py --runs 7 --background 200``.
``--background N`` first creates N tenants, to show cost as the catalog grows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--background", type=int, default=0, help="tenants to create before measuring")
    parser.add_argument("--stock-runs", type=int, default=3, help="runs of django-tenants' own clone")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL"):
        os.environ["BAOHAN_DATA_DIR"] = tempfile.mkdtemp(prefix="baohan-bench-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "baohan.settings.base"
    from baohan.embedded import database_url_ensure

    database_url_ensure(database="baohan_bench")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.clone import CloneSchema

    from tenants.cloning import schema_create_by_clone, schema_create_by_migrating, template_schema
    from tenants.services import tenant_onboard

    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", [template_schema()])
        tables = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = %s", [template_schema()])
        indexes = cursor.fetchone()[0]

    for i in range(args.background):
        schema_create_by_clone(f"bg_{i}")

    def timed(fn, name: str) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        fn(name)
        return time.perf_counter() - start

    clone = [timed(schema_create_by_clone, f"bench_clone_{i}") for i in range(args.runs)]
    migrate = [timed(lambda n: schema_create_by_migrating(n, verbosity=0), f"bench_mig_{i}") for i in range(args.runs)]

    def stock(name: str) -> None:
        CloneSchema().clone_schema(template_schema(), name)
        call_command("migrate_schemas", tenant=True, fake=True, schema_name=name, interactive=False, verbosity=0)

    stock_times = [timed(stock, f"bench_stock_{i}") for i in range(args.stock_runs)]

    pack_text = (ROOT / "regions" / "xuancheng.yaml").read_text(encoding="utf-8")
    onboard = []
    for i in range(args.runs):
        text = pack_text.replace("code: xuancheng", f"code: bench_centre_{i}", 1)
        start = time.perf_counter()
        tenant_onboard(source_text=text, source_name="bench.yaml", domains=[f"bench{i}.localhost"])
        onboard.append(time.perf_counter() - start)

    med = statistics.median
    print(f"schema: {tables} tables, {indexes} indexes; {args.background} tenants created beforehand")
    print(f"{'method':<38}{'median s':>10}{'min s':>9}{'max s':>9}")
    for label, values in (
        ("create schema by snapshot clone", clone),
        ("create schema by migrating", migrate),
        ("create schema by stock clone + fake", stock_times),
        ("onboard_region (validate+clone+rows)", onboard),
    ):
        print(f"{label:<38}{med(values):>10.3f}{min(values):>9.3f}{max(values):>9.3f}")
    print(f"snapshot clone is {med(migrate) / med(clone):.1f}x faster than migrating")


if __name__ == "__main__":
    main()
