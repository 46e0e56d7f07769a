"""Tenancy's price under the production server: a centre's ``/api/v1/site`` against the platform's
``/api/v1/platform`` (the same answer's shape and weight, in the public schema), side by side in one
run; and gunicorn's worker recycling, with the chart's settings against none.

A throw-away embedded PostgreSQL and Redis, one centre onboarded from ``regions/xinjiang.yaml``;
gunicorn started as the web pods start it (``baohan.ops.gunicorn_conf``, production settings,
``WEB_CONCURRENCY`` 2 × ``GUNICORN_THREADS`` 4 unless set); ``--clients`` threads on loopback keep
their connections open and ask as fast as answered, ``--seconds`` per round, rounds alternating.
The load runs on the same 2 cores as the server: compare the two columns, not the totals with
another machine's.

Usage: ``python bench/throughput.py [--seconds 8] [--clients 8] [--json]``.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
from baohan.ops.supervisor import group_stop, http_ready, loopback_port  # noqa: E402 - after the path

CENTRE_HOST = "tp.localhost"
PLATFORM_HOST = "localhost"


def gunicorn_start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:baohan.ops.gunicorn_conf", "baohan.wsgi"],
        env={**env, "PORT": str(port)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(Path(env["BAOHAN_BENCH_LOG"]), "ab"),  # noqa: SIM115 - the server's, closed with it
        start_new_session=True,
    )
    if http_ready(port, path="/healthz", host=PLATFORM_HOST, seconds=60, process=process):
        return process
    group_stop(process)
    tail = Path(env["BAOHAN_BENCH_LOG"]).read_text(errors="replace")[:3000]
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s:\n{tail}")


def gunicorn_stop(process: subprocess.Popen[bytes]) -> None:
    group_stop(process, grace=30.0, kill_wait=10.0)


def load(port: int, host: str, path: str, *, clients: int, seconds: float) -> dict[str, float]:
    """``clients`` threads asking ``path`` on ``host`` for ``seconds``: answers per second, p50 and p99
    in ms, and the count of answers other than 200."""
    stop = time.monotonic() + seconds
    once = seconds <= 0  # one request per client: a new worker's first answer
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    headers = {"Host": host, "X-Forwarded-Proto": "https", "Accept": "application/json"}

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while once or time.monotonic() < stop:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                if once:
                    break
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            latencies[index].append((time.perf_counter() - started) * 1000)
            if once:
                break
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - began
    times = sorted(t for per in latencies for t in per)
    return {
        "rps": round(len(times) / took, 1),
        "p50_ms": round(statistics.median(times), 1) if times else 0.0,
        "p99_ms": round(times[max(0, int(len(times) * 0.99) - 1)], 1) if times else 0.0,
        "errors": sum(errors),
        "answers": len(times),
        "first_ms": round(latencies[0][0], 1) if latencies[0] else 0.0,
    }


def merged(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {
        "rps": round(statistics.mean(r["rps"] for r in rounds), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in rounds), 1),
        "p99_ms": round(max(r["p99_ms"] for r in rounds), 1),
        "errors": sum(r["errors"] for r in rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="baohan-bench-")
    atexit.register(shutil.rmtree, folder, True)  # registered first: runs after the servers stop
    if not os.environ.get("DATABASE_URL"):
        os.environ["BAOHAN_DATA_DIR"] = folder
    os.environ["DJANGO_SETTINGS_MODULE"] = "baohan.settings.base"
    from baohan.embedded import EmbeddedRedis, database_url_ensure

    database = database_url_ensure(database="baohan_bench_throughput")
    redis = EmbeddedRedis(Path(folder) / "redis")
    atexit.register(redis.stop)
    import django

    django.setup()
    from cryptography.fernet import Fernet
    from django.core.management import call_command
    from django.db import connection

    from tenants.models import Tenant
    from tenants.services import tenant_onboard_file

    call_command("migrate", interactive=False, verbosity=0)
    if Tenant.objects.filter(code="xinjiang").exists():
        raise SystemExit("centre xinjiang exists in this database already")
    tenant_onboard_file(path=ROOT / "regions" / "xinjiang.yaml", domains=[CENTRE_HOST])
    connection.close()

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_", "WEB_"))},
        "DJANGO_SETTINGS_MODULE": "baohan.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": CENTRE_HOST,
        "PLATFORM_HOSTS": PLATFORM_HOST,
        "DATABASE_URL": database,
        "REDIS_URL": redis.url.replace("redis+socket://", "unix://", 1),  # redis-py's spelling of a socket
        "AWS_STORAGE_BUCKET_NAME": "bench-unused",
        "BAOHAN_FIELD_KEYS": Fernet.generate_key().decode(),
        "BAOHAN_INDEX_KEY": secrets.token_urlsafe(32),
        "BAOHAN_DEV_ROWS_CHECK_AT_START": "0",
        "LOG_LEVEL": "warning",
        "BAOHAN_BENCH_LOG": str(Path(folder) / "gunicorn.log"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
    }
    first_ms: dict[str, float] = {}
    for label, extra in (("warmed", {}), ("cold", {"GUNICORN_WARMUP": "0"})):
        # A new worker's first answer: with the warm-up gunicorn runs before it accepts one, and without.
        port = loopback_port()
        server = gunicorn_start({**env, **extra, "WEB_CONCURRENCY": "1"}, port)
        try:
            first_ms[label] = load(port, CENTRE_HOST, "/api/v1/site", clients=1, seconds=0)["first_ms"]
        finally:
            gunicorn_stop(server)
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for label, extra in (
        ("chart", {}),
        ("no_recycling", {"GUNICORN_MAX_REQUESTS": "0"}),
        ("every_1000", {"GUNICORN_MAX_REQUESTS": "1000"}),
    ):
        port = loopback_port()
        server = gunicorn_start({**env, **extra}, port)
        try:
            for host, path in ((CENTRE_HOST, "/api/v1/site"), (PLATFORM_HOST, "/api/v1/platform")):
                load(port, host, path, clients=2, seconds=1)  # warm: caches, pools, the pack
            centre, plain = [], []
            for _ in range(args.rounds):
                centre.append(load(port, CENTRE_HOST, "/api/v1/site", clients=args.clients, seconds=args.seconds))
                plain.append(load(port, PLATFORM_HOST, "/api/v1/platform", clients=args.clients, seconds=args.seconds))
            figures[label] = {"centre": merged(centre), "plain": merged(plain)}
        finally:
            gunicorn_stop(server)
    chart, flat = figures["chart"], figures["no_recycling"]
    result = {
        "centre": chart["centre"],
        "plain": chart["plain"],
        "throughput_ratio": round(chart["centre"]["rps"] / max(chart["plain"]["rps"], 0.1), 2),
        "p99_ratio": round(chart["centre"]["p99_ms"] / max(chart["plain"]["p99_ms"], 0.1), 2),
        "no_recycling_centre": flat["centre"],
        "recycling_p99_ratio": round(chart["centre"]["p99_ms"] / max(flat["centre"]["p99_ms"], 0.1), 2),
        "every_1000_centre": figures["every_1000"]["centre"],
        "every_1000_p99_ratio": round(
            figures["every_1000"]["centre"]["p99_ms"] / max(flat["centre"]["p99_ms"], 0.1), 2
        ),
        "first_answer_warmed_ms": first_ms["warmed"],
        "first_answer_cold_ms": first_ms["cold"],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.clients} clients, {args.rounds} × {args.seconds:.0f} s per endpoint, gunicorn as the chart runs it")
    for name, row in (
        ("centre /api/v1/site", result["centre"]),
        ("platform /api/v1/platform", result["plain"]),
        ("centre, no worker recycling", result["no_recycling_centre"]),
        ("centre, recycled every 1,000", result["every_1000_centre"]),
    ):
        print(
            f"  {name:<30} {row['rps']:>8} answers/s  p50 {row['p50_ms']:>6} ms  p99 {row['p99_ms']:>7} ms"
            f"  errors {row['errors']}"
        )
    print(f"  centre ÷ platform: throughput {result['throughput_ratio']}× (goal ≥ 0.9), p99 {result['p99_ratio']}×")
    print(f"  p99 with the chart's recycling ÷ without: {result['recycling_p99_ratio']}×")
    print(f"  p99 recycled every 1,000 requests ÷ without: {result['every_1000_p99_ratio']}×")
    print(
        f"  a new worker's first answer: {result['first_answer_warmed_ms']} ms warmed up,"
        f" {result['first_answer_cold_ms']} ms without the warm-up"
    )


if __name__ == "__main__":
    main()
