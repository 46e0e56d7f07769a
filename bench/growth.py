"""A thousand centres: onboarding and a release's migrations at N centres.

On a throw-away embedded PostgreSQL cluster (removed afterwards; or a separate database of
DATABASE_URL, whose probe schemas are dropped), N centres are created from the template snapshot.
Then a real centre is onboarded from ``regions/xuancheng.yaml`` ``--onboard`` times (p50: pack
validated, schema cloned, rows written), and the Helm migration job's two commands run as the job
runs them, each in its own process:

    python manage.py migrate_schemas --shared --noinput
    python manage.py migrate_schemas --tenant --executor=multiprocessing --noinput

first with nothing to do, then with one centre's schema behind (one app unapplied). Usage:
``python bench/growth.py --centres 1000``; ``--json`` prints the figures as JSON (for bench/all.py).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
JOB = (
    ["migrate_schemas", "--shared", "--noinput"],
    ["migrate_schemas", "--tenant", "--executor=multiprocessing", "--noinput"],
)
PREFIX = "bench_rel_"


def job_seconds(env: dict[str, str]) -> float:
    """Both commands of the migration job, one after the other, as separate processes."""
    started = time.perf_counter()
    for command in JOB:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *command], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def onboard_seconds(count: int, names: list[str], *, profile: bool = False) -> list[float]:
    """Seconds to onboard ``count`` centres from a real pack (their schemas join ``names``, to be dropped);
    with ``profile``, where the time of the last one went (cProfile and its SQL, on stderr)."""
    import cProfile
    import pstats

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from tenants.services import tenant_onboard

    text = (ROOT / "regions" / "xuancheng.yaml").read_text(encoding="utf-8")
    times = []
    for i in range(count):
        code = f"benchonboard{i}"
        names.append(code)
        last = profile and i == count - 1
        profiler = cProfile.Profile() if last else None
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            tenant_onboard(
                source_text=text.replace("code: xuancheng", f"code: {code}", 1),
                source_name="bench.yaml",
                domains=[f"onb{i}.bench.localhost"],
            )
            if profiler is not None:
                profiler.disable()
            times.append(time.perf_counter() - started)
        if profiler is not None:
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
            slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:10]
            for query in slowest:
                print(f"{float(query['time']) * 1000:8.1f} ms  {query['sql'][:160]}", file=sys.stderr)
    return times


def console_statements() -> int:
    """SQL statements of the platform console's overview page at N centres (a platform admin)."""
    import secrets

    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    password = secrets.token_urlsafe(16)
    user = get_user_model().objects.create_superuser(f"bench-{secrets.token_hex(4)}", "", password)
    try:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        client.get("/console/")  # warm: sessions, templates
        reset_queries()  # a full query log (DEBUG) would make the capture below see nothing
        with CaptureQueriesContext(connection) as captured:
            status = client.get("/console/").status_code
        if status != 200:
            raise SystemExit(f"the console overview answered {status}")
        return len(captured.captured_queries)
    finally:
        connection.set_schema_to_public()
        # Raw: the ORM's cascade would look for per-centre tables (tokens) in the public schema.
        type(user).objects.filter(pk=user.pk)._raw_delete("default")


def idle_beat(names: list[str]) -> dict[str, float]:
    """Beat's periodic work at N centres: a minute of ticks with nothing due (tasks queued and SQL
    statements, each job weighted by its ticks per minute), then a tick with 5 centres due."""
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from baohan.ops.due import _mark, centre_due_fan_out, periodic_jobs

    per_minute = {
        str(entry["args"][0]): 60.0 / float(entry["schedule"])
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry.get("task") == "payments.fan_out" and entry.get("args")
    }
    tasks = statements = 0.0
    for job in periodic_jobs():
        centre_due_fan_out(job=job)  # the task modules imported, nothing left due from creation
        reset_queries()  # a full query log (DEBUG) would make the capture below see nothing
        with CaptureQueriesContext(connection) as captured:
            queued = centre_due_fan_out(job=job)
        tasks += queued * per_minute[job]
        statements += len(captured.captured_queries) * per_minute[job]
    now = timezone.now()
    for name in names[:5]:
        _mark(schema_name=name, job="payments.deadlines", at=now)
    from baohan.celery import app

    task = app.tasks["payments.deadlines"]
    task.delay = lambda *args, **kwargs: None  # counted, not run: these centres have no pack
    try:
        due_tasks = centre_due_fan_out(job="payments.deadlines", now=now)
    finally:
        del task.delay
    connection.set_schema_to_public()
    return {
        "console_overview_statements": console_statements(),
        "idle_tasks_per_minute": round(tasks, 1),
        "idle_statements_per_minute": round(statements, 1),
        "due_5_tasks": due_tasks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--centres", type=int, default=1000)
    parser.add_argument("--onboard", type=int, default=7, help="centres onboarded at N, for the p50")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true", help="where the last onboarding's time went (stderr)")
    args = parser.parse_args()

    scratch = None
    if not os.environ.get("DATABASE_URL"):
        scratch = tempfile.mkdtemp(prefix="baohan-bench-release-")
        os.environ["BAOHAN_DATA_DIR"] = scratch
        # Registered first, so it runs last: after the embedded server (stopped at exit) is down.
        atexit.register(shutil.rmtree, scratch, True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "baohan.settings.base"
    from baohan.embedded import database_url_ensure

    database_url_ensure(database="baohan_bench_release")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tenants.cloning import schema_create_by_clone, schema_drop
    from tenants.models import Domain, RulePackVersion, Tenant

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "baohan.settings.base", "PYTHONPATH": str(ROOT / "platform")}
    names = [f"{PREFIX}{i:05d}" for i in range(args.centres)]
    try:
        call_command("migrate", interactive=False, verbosity=0)
        started = time.perf_counter()
        existing = set(Tenant.objects.filter(schema_name__startswith=PREFIX).values_list("schema_name", flat=True))
        for name in names:
            if name not in existing:
                schema_create_by_clone(name)
                Tenant.objects.create(schema_name=name, code=name.replace("_", "-"), name=name, theme="base")
        created = time.perf_counter() - started
        # Onboarding runs in a console process, whose session has not itself created a thousand
        # schemas: a new session, not the one whose caches hold every relation made above.
        connection.close()
        onboard = onboard_seconds(args.onboard, names, profile=args.profile)
        with connection.cursor() as cursor:  # the catalog a centre adds, and the whole catalog now
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s",
                [names[0]],
            )
            per_centre = int(cursor.fetchone()[0])
            cursor.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('pg_class')) FROM pg_class")
            relations, pg_class_size = cursor.fetchone()
        idle = idle_beat(names)
        connection.close()
        nothing = job_seconds(env)
        call_command("migrate_schemas", "issuerdesk", "zero", schema_name=names[0], interactive=False, verbosity=0)
        connection.close()
        one_behind = job_seconds(env)
        figures = {
            "centres": args.centres,
            "create_seconds": round(created, 1),
            "onboard_p50_s": round(statistics.median(onboard), 3),
            "relations_per_centre": per_centre,
            "relations": int(relations),
            "pg_class_size": str(pg_class_size),
            "release_nothing_pending_s": round(nothing, 1),
            "release_one_behind_s": round(one_behind, 1),
            **idle,
        }
    finally:
        if scratch is None:
            for name in names:
                Tenant.objects.filter(schema_name=name).update(current_rule_pack=None)
                RulePackVersion.objects.filter(tenant__schema_name=name).delete()
                Domain.objects.filter(tenant__schema_name=name).delete()
                Tenant.objects.filter(schema_name=name).delete()
                schema_drop(name)
        connection.close()
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{args.centres} centres created from the template in {figures['create_seconds']} s")
    print(f"onboarding a centre at {args.centres}: p50 {figures['onboard_p50_s']} s (goal ≤ 0.2 s)")
    print(
        f"catalog: {figures['relations_per_centre']} relations per centre (tables, indexes, sequences, toast); "
        f"{figures['relations']} in all, pg_class {figures['pg_class_size']}"
    )
    print(
        f"idle beat at {args.centres} centres: {figures['idle_tasks_per_minute']} tasks and "
        f"{figures['idle_statements_per_minute']} SQL statements a minute; 5 centres due: "
        f"{figures['due_5_tasks']} tasks; the console overview: {figures['console_overview_statements']} statements"
    )
    print(f"{'release (the Helm job commands)':<44}{'seconds':>9}{'goal':>8}")
    print(f"{'  nothing pending':<44}{figures['release_nothing_pending_s']:>9}{'≤ 60':>8}")
    print(f"{'  one centre behind':<44}{figures['release_one_behind_s']:>9}{'≤ 60':>8}")


if __name__ == "__main__":
    main()
