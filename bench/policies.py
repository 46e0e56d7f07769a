"""Policies generated per second, with the engine's own code (``policy_generate``): render the
Chinese PDF (embedded CJK font, QR code), seal it with AES-256 (Xinjiang hands out an encrypted
policy before opening), store both through Django's storage, record the row and its event.

Runs against a throw-away embedded PostgreSQL cluster (or an empty database at DATABASE_URL)
with files in a throw-away media folder, in one centre onboarded from ``regions/xinjiang.yaml``.
Setup writes N issued orders; then each step is timed on its own for the first orders and the
whole ``policy_generate`` for all of them, one after another in this process.

Usage: ``python bench/policies.py [--orders 200] [--keep]``.
"""

from __future__ import annotations

import argparse
import atexit
import os
import secrets
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--profile", action="store_true", help="print where policy_generate's time goes")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="baohan-bench-")
    os.environ["MEDIA_ROOT"] = str(Path(folder) / "media")
    if not os.environ.get("DATABASE_URL"):
        os.environ["BAOHAN_DATA_DIR"] = folder
    if args.keep:
        print(f"data folder kept: {folder}")
    else:
        atexit.register(shutil.rmtree, folder, True)  # registered first: runs after the server stops
    os.environ["DJANGO_SETTINGS_MODULE"] = "baohan.settings.base"
    from baohan.embedded import database_url_ensure

    database_url_ensure(database="baohan_bench_policies")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from tenants.models import Tenant
    from tenants.services import tenant_onboard_file

    call_command("migrate", interactive=False, verbosity=0)
    if Tenant.objects.filter(code="xinjiang").exists():
        raise SystemExit("centre xinjiang exists in this database already")
    tenant_onboard_file(path=ROOT / "regions" / "xinjiang.yaml", domains=["bench.localhost"])
    with tenant_context(Tenant.objects.get(code="xinjiang")):
        run(args.orders, profile=args.profile, as_json=args.json)
    connection.close()


def run(count: int, *, profile: bool = False, as_json: bool = False) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from baohan.documents.policy import policy_layout, policy_render, qr_matrix
    from baohan.documents.services import policy_facts, policy_generate, policy_seal, verification_code_make
    from baohan.guarantees.models import Enterprise, Order
    from baohan.sections.models import Section
    from tenants.selectors import pack_in_force
    from tenants.themes import current_theme

    pack, version = pack_in_force()
    issuer = next(i for i in pack.issuers if i.receiving_account is not None)
    now = timezone.now()
    user = get_user_model().objects.create_user(username="policy-bench")
    enterprise = Enterprise.objects.create(
        name="新疆基准建设工程有限公司", uscc="91650100MA0000001X", verification=Enterprise.Verification.VERIFIED
    )
    sections = Section.objects.bulk_create(
        Section(
            code=f"XJPOL-{i:05d}",
            name=f"乌鲁木齐市某道路改造工程第{i}标段",
            project_name="乌鲁木齐市某道路改造工程",
            project_type="construction",
            deposit_amount=Decimal("1000000.00"),
            deposit_deadline=now + timedelta(days=7),
            opening_time=now + timedelta(days=8),
        )
        for i in range(count)
    )
    orders = Order.objects.bulk_create(
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
            insured_amount=Decimal("1000000.00"),
            rate=Decimal("0.001"),
            premium=Decimal("1000.00"),
            payable_amount=Decimal("1000.00"),
            remark_code=f"R{i:07d}",
            rule_pack_version=version,
            guarantee_number=f"BH{now:%Y%m%d}{i:06d}",
            issued_at=now,
            valid_from=now.date(),
            valid_until=now.date() + timedelta(days=90),
        )
        for i, section in enumerate(sections)
    )
    orders = list(Order.objects.select_related("section", "enterprise").order_by("id"))
    theme = current_theme()
    if not as_json:
        print(f"centre xinjiang, issuer {issuer.code}, theme {theme}; {len(orders)} issued orders", end="")
        print(f"; {os.cpu_count()} cores")

    sample = orders[: min(50, len(orders))]
    layout = policy_layout(theme)
    warm = policy_render(facts=policy_facts(order=sample[0], pack=pack, code="WARMUP00"), layout=layout)  # font
    policy_seal(pdf=warm, password=secrets.token_urlsafe(24))  # the sealing library imported
    start = time.perf_counter()
    pdfs = [
        policy_render(facts=policy_facts(order=o, pack=pack, code=verification_code_make()), layout=layout)
        for o in sample
    ]
    render = (time.perf_counter() - start) / len(sample)
    facts = [policy_facts(order=o, pack=pack, code=verification_code_make()) for o in sample]
    start = time.perf_counter()
    for f in facts:
        qr_matrix(f.verify_url)
    qr = (time.perf_counter() - start) / len(sample)
    start = time.perf_counter()
    for pdf in pdfs:
        policy_seal(pdf=pdf, password=secrets.token_urlsafe(24))
    seal = (time.perf_counter() - start) / len(sample)

    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    for order in orders:
        policy_generate(order_id=order.pk)
    total = time.perf_counter() - start
    if profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "40")))
    size = sum(len(p) for p in pdfs) / len(pdfs)
    if as_json:
        import json

        print(json.dumps({"policies_per_s": round(len(orders) / total, 1), "orders": len(orders)}))
        return
    print()
    print(f"{'step':<52}{'ms each':>10}{'per second':>12}")
    print(f"{'render (PDF, CJK font subset, QR code)':<52}{render * 1000:>10.1f}{1 / render:>12.1f}")
    print(f"{'  of which the QR code (segno, best of 8 masks)':<52}{qr * 1000:>10.1f}{1 / qr:>12.1f}")
    print(f"{'seal (AES-256, R6)':<52}{seal * 1000:>10.1f}{1 / seal:>12.1f}")
    print(f"{'POLICY_GENERATE (render, seal, store both, row, event)':<52}{total / len(orders) * 1000:>10.1f}", end="")
    print(f"{len(orders) / total:>12.1f}")
    print(f"average policy: {size / 1024:.0f} KiB; one process, one core")


if __name__ == "__main__":
    main()
