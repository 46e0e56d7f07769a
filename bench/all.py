"""``make bench``: every scale figure in one run, one table: figure, goal, measured, load average.

Each benchmark runs in its own process on its own throw-away embedded PostgreSQL cluster (or its own
database at DATABASE_URL) and removes what it made. ``--centres`` sets the growth (1,000 by default:
about 8 minutes of the run on 2 cores, most of it creating the centres). ``--quick`` runs every
benchmark small, to check the harness. The deadline surge (``surge.py``: 500 bidders arriving over
10 minutes, against gunicorn and a Celery worker of their own) adds about 12 minutes. Figures not yet
measured by a script are listed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


def run(script: str, *args: str) -> tuple[dict[str, Any], float, str]:
    """The script's JSON figures (its last line), the seconds it took and the load average after it."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(ROOT / script), *args, "--json"], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    load = "/".join(f"{v:.2f}" for v in os.getloadavg())
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
        return {"error": f"{script} exited {result.returncode}"}, seconds, load
    last = [line for line in result.stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(last), seconds, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--centres", type=int, default=1000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    centres = 40 if args.quick else args.centres

    rows: list[tuple[str, str, str, str]] = []
    began = time.perf_counter()
    growth, took, load = run("growth.py", "--centres", str(centres))
    g = growth.get
    rows += [
        (f"onboard a centre, {centres} centres present (p50)", "≤ 0.2 s", f"{g('onboard_p50_s', '—')} s", load),
        (f"no-op release migration, {centres} centres", "≤ 60 s", f"{g('release_nothing_pending_s', '—')} s", load),
        (f"release with one centre behind, {centres} centres", "≤ 60 s", f"{g('release_one_behind_s', '—')} s", load),
        (
            f"catalog at {centres} centres",
            "(reported)",
            f"{g('relations')} relations, {g('relations_per_centre')} per centre; pg_class {g('pg_class_size')}",
            load,
        ),
        (
            f"idle beat at {centres} centres: tasks, SQL statements a minute",
            "independent of N",
            f"{g('idle_tasks_per_minute')} tasks, {g('idle_statements_per_minute')} statements; "
            f"5 centres due → {g('due_5_tasks')} tasks",
            load,
        ),
        (
            f"console overview at {centres} centres: SQL statements",
            "independent of N",
            f"{g('console_overview_statements')}",
            load,
        ),
    ]
    opening, _, load = run("opening.py", "--bidders", "200" if args.quick else "1000")
    o = opening.get
    rows += [
        (
            "SQL per warm GET /api/v1/site (tenancy)",
            "≤ 2 (≤ 1)",
            f"{o('site_statements')} ({o('site_tenancy')})",
            load,
        ),
        (
            "SQL per warm GET / of a centre (tenancy)",
            "(≤ 1)",
            f"{o('home_statements')} ({o('home_tenancy')})",
            load,
        ),
        (
            f"section listing at opening, {o('bidders')} bidders (p50 / p95)",
            "≤ 20 ms",
            f"{o('p50_ms')} / {o('p95_ms')} ms, {o('statements')} statements",
            load,
        ),
    ]
    policies, _, load = run("policies.py", "--orders", "30" if args.quick else "200")
    rows.append(("policies generated, one process", "≥ 20 per s", f"{policies.get('policies_per_s')} per s", load))
    throughput, _, load = run("throughput.py", "--seconds", "3" if args.quick else "8")
    t = throughput.get
    rows += [
        (
            "centre vs platform endpoint under gunicorn: throughput (p99)",
            "≥ 0.9× (≤ 1.2×)",
            f"{t('throughput_ratio')}× ({t('p99_ratio')}×)",
            load,
        ),
        (
            "  answers/s, p99: centre /api/v1/site; platform /api/v1/platform",
            "",
            f"{(t('centre') or {}).get('rps')}, {(t('centre') or {}).get('p99_ms')} ms; "
            f"{(t('plain') or {}).get('rps')}, {(t('plain') or {}).get('p99_ms')} ms",
            load,
        ),
        ("p99 with the chart's worker recycling ÷ without", "≈ 1×", f"{t('recycling_p99_ratio')}×", load),
        (
            "  recycled every 1,000 requests ÷ without (p99); a new worker's first answer",
            "",
            f"{t('every_1000_p99_ratio')}×; {t('first_answer_warmed_ms')} ms "
            f"({t('first_answer_cold_ms')} ms without warm-up)",
            load,
        ),
    ]
    surge, _, load = run("surge.py", *(["--quick"] if args.quick else []))
    s = surge.get
    slowest: tuple[str, dict[str, Any]] = max(
        (surge.get("steps") or {}).items(), key=lambda item: item[1]["p99_ms"], default=("—", {})
    )
    rows += [
        (
            f"deadline surge: {s('bidders')} bidders in {s('minutes')} min (p99, errors)",
            "≤ 300 ms, 0",
            f"{s('p99_ms')} ms, {s('errors')}; {s('paid')} of {s('bidders')} paid",
            load,
        ),
        (
            "  p50 / p95 of every call; the slowest step (p99)",
            "",
            f"{s('p50_ms')} / {s('p95_ms')} ms; {slowest[0]} {slowest[1].get('p99_ms')} ms",
            load,
        ),
    ]

    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{width}}  {'goal':<18}{'measured':<40}load (1/5/15 min)")
    for figure, goal, measured, load in rows:
        print(f"{figure:<{width}}  {goal:<18}{measured:<40}{load}")
    print(f"\n{os.cpu_count()} cores; the whole run took {time.perf_counter() - began:.0f} s", end="")
    print(f" (creating {centres} centres: {growth.get('create_seconds', '—')} s, growth bench {took:.0f} s)")


if __name__ == "__main__":
    main()
