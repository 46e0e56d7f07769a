"""Real server processes for the reliability tests, and bursts of concurrent HTTP calls at them.

    with server_running("gunicorn") as server:          # gunicorn -c python:baohan.ops.gunicorn_conf baohan.wsgi
        outcomes = burst(server, [Call("POST", "/api/v1/...", host="paytest.localhost", json={...})] * 50)

``gunicorn`` is the production configuration (``baohan.ops.gunicorn_conf``: gthread workers and
threads from the environment); ``devserver`` is the development server exactly as ``make run``
starts it (without the autoreloader). Both serve the test database of this run (committed rows
only) on a free loopback port, with the test settings (tasks run eagerly, in the server process),
and their connections to PostgreSQL carry an ``application_name`` of their own so that a test
can count them (``ConnectionSampler``).
"""

from __future__ import annotations

import http.client
import json as jsonlib
import os
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings

from baohan.ops.supervisor import group_stop, http_ready, loopback_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
Kind = Literal["gunicorn", "devserver"]


def database_url_for_tests(*, application_name: str = "") -> str:
    """``DATABASE_URL`` with the database of this test run (set up by pytest-django) in its path."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    query = parts.query
    if application_name:
        query = "&".join(filter(None, [query, urlencode({"application_name": application_name})]))
    return urlunsplit(parts._replace(path="/" + str(settings.DATABASES["default"]["NAME"]), query=query))


@dataclass
class Server:
    kind: Kind
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    application_name: str
    processes: int
    pool_max: int

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def get(self, path: str, *, host: str = "localhost", timeout: float = 10.0) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Host": host})
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()


def _command(kind: Kind, port: int) -> list[str]:
    if kind == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "-c", "python:baohan.ops.gunicorn_conf", "baohan.wsgi"]
    return [sys.executable, str(ROOT / "manage.py"), "devserver", "--noreload", f"127.0.0.1:{port}"]


@contextmanager
def server_running(
    kind: Kind = "gunicorn",
    *,
    log_dir: Path,
    processes: int = 2,
    threads: int = 4,
    pool_max: int = 4,
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """A server process on a free port until the block ends; then SIGTERM to its process group
    (SIGKILL after 30 s): nothing of it is left."""
    port = loopback_port()
    application_name = f"reliability-{kind}-{uuid.uuid4().hex[:8]}"
    log = log_dir / f"{kind}-{port}.log"
    child_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "baohan.settings.test",
        "DATABASE_URL": database_url_for_tests(application_name=application_name),
        "DATABASE_POOL_MAX_SIZE": str(pool_max),
        "PORT": str(port),
        "WEB_CONCURRENCY": str(processes),
        "GUNICORN_THREADS": str(threads),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    child_env.pop("BAOHAN_METRICS_PORT", None)
    child_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            _command(kind, port),
            cwd=ROOT,
            env=child_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(kind, process, port, log, application_name, processes if kind == "gunicorn" else 1, pool_max)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Server) -> None:
    if not http_ready(server.port, path="/readyz", host="localhost", seconds=START_TIMEOUT, process=server.process):
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.kind} exited with {server.process.returncode}:\n{server.log_text()[-4000:]}")
        raise RuntimeError(f"{server.kind} not ready after {START_TIMEOUT:.0f} s:\n{server.log_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    group_stop(process, grace=30.0, kill_wait=10.0)


# --- Concurrent calls -------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    host: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    files: Mapping[str, tuple[str, bytes]] | None = None  # multipart: field -> (file name, content)
    raw: bytes | None = None  # a JSON body sent byte for byte (a signed webhook)
    label: str = ""


@dataclass(frozen=True)
class Outcome:
    label: str
    status: int  # 0: no HTTP answer (see error)
    error: str = ""
    body: bytes = b""

    def data(self) -> Any:
        return jsonlib.loads(self.body)


def _encode(call: Call) -> tuple[bytes, dict[str, str]]:
    headers = {"Host": call.host, "User-Agent": "reliability-burst/1.0", **call.headers}
    if call.files is not None:
        boundary = uuid.uuid4().hex
        body = b""
        for name, (filename, content) in call.files.items():
            body += (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n"
                ).encode()
                + content
                + b"\r\n"
            )
        body += f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        return body, headers
    if call.raw is not None:
        headers["Content-Type"] = "application/json"
        return call.raw, headers
    if call.json is not None:
        headers["Content-Type"] = "application/json"
        return jsonlib.dumps(call.json).encode(), headers
    return b"", headers


def _send(server: Server, call: Call, timeout: float) -> Outcome:
    body, headers = _encode(call)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(call.method, call.path, body=body or None, headers=headers)
        response = conn.getresponse()
        return Outcome(call.label, response.status, body=response.read())
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(call.label, 0, error=type(exc).__name__)
    finally:
        conn.close()


def burst(server: Server, calls: list[Call], *, timeout: float = 120.0) -> list[Outcome]:
    """Every call on its own connection from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Outcome | None] = [None] * len(calls)

    def one(i: int) -> None:
        try:
            barrier.wait(timeout=30)
        except threading.BrokenBarrierError:
            outcomes[i] = Outcome(calls[i].label, 0, error="BrokenBarrierError")
            return
        outcomes[i] = _send(server, calls[i], timeout)

    workers = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(calls))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout + 30)
    return [o if o is not None else Outcome(calls[i].label, 0, error="no answer") for i, o in enumerate(outcomes)]


@dataclass(frozen=True)
class Tally:
    statuses: Counter[tuple[str, int]]
    server_errors: int
    connection_errors: int
    errors: Counter[str]


def tally(outcomes: list[Outcome]) -> Tally:
    return Tally(
        statuses=Counter((o.label, o.status) for o in outcomes),
        server_errors=sum(1 for o in outcomes if o.status >= 500),
        connection_errors=sum(1 for o in outcomes if o.status == 0),
        errors=Counter(o.error for o in outcomes if o.error),
    )


# --- Connections to PostgreSQL ----------------------------------------------------------------


class ConnectionSampler:
    """Counts, every 20 ms on a connection of its own, the server's connections to PostgreSQL."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0
        self.max_connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionSampler:
        import psycopg

        self._conn = psycopg.connect(database_url_for_tests(), autocommit=True)
        row = self._conn.execute("SELECT current_setting('max_connections')::int").fetchone()
        self.max_connections = int(row[0]) if row else 0
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            row = self._conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [self.server.application_name]
            ).fetchone()
            self.peak = max(self.peak, int(row[0]) if row else 0)
            self._stop.wait(0.02)

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)
        self._conn.close()
