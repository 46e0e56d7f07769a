"""Bid opening: server time of the centre's guarantee listing for one section with N bidders.

``GET /api/v1/centre/sections/<code>/guarantees`` is what a trading centre calls at bid opening to
check every bidder's guarantee. On a throw-away embedded PostgreSQL cluster (or an empty database
at DATABASE_URL), one centre is onboarded from ``regions/xinjiang.yaml``, N enterprises with their
issued guarantees are written for one section, and the listing is requested through Django's
request handling in this process (the time a server spends: routing, tenancy, credential, queries,
JSON), warm, ``--runs`` times. Prints p50 and p95 in ms and the statements per request.

Usage: ``python bench/opening.py [--bidders 1000] [--runs 40] [--json]``.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
HOST = "opening.localhost"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bidders", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print where a request's time goes")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="baohan-bench-")
    atexit.register(shutil.rmtree, folder, True)  # registered first: runs after the server stops
    os.environ["MEDIA_ROOT"] = str(Path(folder) / "media")
    if not os.environ.get("DATABASE_URL"):
        os.environ["BAOHAN_DATA_DIR"] = folder
    os.environ["DJANGO_SETTINGS_MODULE"] = "baohan.settings.base"
    os.environ.setdefault("PLATFORM_HOSTS", "localhost")
    from baohan.embedded import database_url_ensure

    database_url_ensure(database="baohan_bench_opening")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from tenants.models import Tenant
    from tenants.services import tenant_onboard_file

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", interactive=False, verbosity=0)
    if Tenant.objects.filter(code="xinjiang").exists():
        raise SystemExit("centre xinjiang exists in this database already")
    tenant_onboard_file(path=ROOT / "regions" / "xinjiang.yaml", domains=[HOST])
    with tenant_context(Tenant.objects.get(code="xinjiang")):
        section, token = setup(args.bidders)
    connection.set_schema_to_public()
    figures = measure(section, token, args.runs, args.bidders)
    if args.profile:
        profile(section, token)
    connection.close()
    if args.json:
        print(json.dumps(figures))
        return
    print(f"section listing at bid opening, {args.bidders} bidders, {args.runs} warm requests:")
    print(
        f"  p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms (goal ≤ 20 ms); {figures['statements']} statements"
    )
    print(f"warm GET /api/v1/site: {figures['site_statements']} statements, {figures['site_tenancy']} of tenancy")
    print(f"warm GET / of the centre: {figures['home_statements']} statements, {figures['home_tenancy']} of tenancy")


def setup(count: int) -> tuple[str, str]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from baohan.guarantees.models import Enterprise, Order
    from baohan.guarantees.services.credentials import credential_create
    from baohan.sections.models import Section
    from tenants.selectors import pack_in_force

    pack, version = pack_in_force()
    issuer = pack.issuers[0]
    now = timezone.now()
    user = get_user_model().objects.create_user(username="opening-bench")
    section = Section.objects.create(
        code="XJOPEN-0001",
        name="乌鲁木齐市某道路改造工程第1标段",
        project_name="乌鲁木齐市某道路改造工程",
        project_type="construction",
        deposit_amount=Decimal("1000000.00"),
        deposit_deadline=now - timedelta(hours=1),
        opening_time=now,
    )
    enterprises = Enterprise.objects.bulk_create(
        Enterprise(
            name=f"新疆基准建设工程有限公司{i}",
            uscc=f"91650100MA{i:07d}X",
            legal_rep_id_number="650102199001011234",
            basic_account_number="6222020200112233445",
            verification=Enterprise.Verification.VERIFIED,
        )
        for i in range(count)
    )
    Order.objects.bulk_create(
        Order(
            number=f"P{i:09d}",
            section=section,
            enterprise=enterprise,
            created_by=user,
            deposit_kind="bid",
            issuer_kind=issuer.kind.value,
            choice_mode="single_pick",
            issuer_code=issuer.code,
            state="issued",
            form_data={"note": "x" * 400, "insured_name": "乌鲁木齐市某建设单位", "project_manager": "张三"},
            insured_amount=Decimal("1000000.00"),
            rate=Decimal("0.001"),
            premium=Decimal("1000.00"),
            payable_amount=Decimal("1000.00"),
            remark_code=f"R{i:07d}",
            rule_pack_version=version,
            guarantee_number=f"BH{now:%Y%m%d}{i:06d}",
            issued_at=now - timedelta(minutes=count - i),
            valid_from=now.date(),
            valid_until=now.date() + timedelta(days=90),
        )
        for i, enterprise in enumerate(enterprises)
    )
    _credential, token = credential_create(kind="centre", label="opening bench")
    return section.code, token


def measure(section: str, token: str, runs: int, bidders: int) -> dict[str, float | int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {token}")
    path = f"/api/v1/centre/sections/{section}/guarantees"
    for _ in range(3):  # warm: the pack parsed, the host cached, the credential's use recorded
        response = client.get(path)
        if response.status_code != 200 or len(response.json()["guarantees"]) != bidders:
            raise SystemExit(f"unexpected answer {response.status_code}: {response.content[:300]!r}")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    connection.queries_log.clear()  # a request resets the log: start from empty, or the slice taken is empty
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    statements = len(captured.captured_queries)  # read now: the log is cleared below
    times.sort()
    # Tenancy's own cost on warm requests: the centre's home page and /api/v1/site.
    site = Client(HTTP_HOST=HOST)
    tenancy = {}
    for name, page in (("home", "/"), ("site", "/api/v1/site")):
        site.get(page)
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as warm:
            site.get(page)
        sql = [q["sql"] for q in warm.captured_queries]
        tenancy[name] = (len(sql), sum(1 for s in sql if s.startswith("SET search_path") or "tenants_" in s))
    return {
        "bidders": bidders,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "statements": statements,
        "site_statements": tenancy["site"][0],
        "site_tenancy": tenancy["site"][1],
        "home_statements": tenancy["home"][0],
        "home_tenancy": tenancy["home"][1],
    }


def profile(section: str, token: str) -> None:
    import cProfile
    import pstats

    from django.test import Client

    client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {token}")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        client.get(f"/api/v1/centre/sections/{section}/guarantees")
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    # And the statement's own plan, run as the request runs it.
    from django.db import connection
    from django_tenants.utils import tenant_context

    from baohan.guarantees.opening import section_guarantees_statement
    from baohan.sections.models import Section
    from tenants.models import Tenant
    from tenants.selectors import pack_in_force

    with tenant_context(Tenant.objects.get(code="xinjiang")), connection.cursor() as cursor:
        sql, params = section_guarantees_statement(section=Section.objects.get(code=section), pack=pack_in_force()[0])
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
