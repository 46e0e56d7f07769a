"""``/readyz`` after PostgreSQL goes away: it fails, then recovers by itself, with no process restarted.

The test database is shared by the whole run, so PostgreSQL itself is not restarted. What a restart
does to this process is reproduced on its own database: the server ends the process's session
(``pg_terminate_backend``), and, for an outage that lasts, refuses new sessions
(``ALTER DATABASE ... ALLOW_CONNECTIONS false``) until it is "back"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.usefixtures("committed_db")

RECOVERY_SECONDS = 30


@pytest.fixture
def admin() -> Iterator[psycopg.Connection[Any]]:
    """A superuser session on the maintenance database, outside this process's connections."""
    db = connection.settings_dict
    host = db["HOST"] or db["OPTIONS"].get("host", "")
    session = psycopg.connect(
        dbname="postgres",
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=host,
        port=db["PORT"] or None,
        autocommit=True,
    )
    try:
        yield session
    finally:
        session.execute(f'ALTER DATABASE "{db["NAME"]}" ALLOW_CONNECTIONS true')
        session.close()


def _ready(client: Client) -> tuple[int, str]:
    response = client.get("/readyz")
    return response.status_code, response.json()["checks"]["database"]


def _session_end(admin: psycopg.Connection[Any]) -> None:
    """End this process's database session, as a PostgreSQL restart does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone() == (True,)


def _sessions_end(admin: psycopg.Connection[Any]) -> None:
    """End every session on the test database (pooled ones too), as a PostgreSQL restart does."""
    admin.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s",
        [connection.settings_dict["NAME"]],
    )


def test_readyz_fails_when_the_session_is_gone_and_recovers_on_the_next_check(
    admin: psycopg.Connection[Any],
) -> None:
    client = Client()
    assert _ready(client) == (200, "ok")
    _session_end(admin)
    status, check = _ready(client)
    assert status == 503
    assert check.startswith("error: ")
    assert _ready(client) == (200, "ok")  # a fresh connection: no restart needed
    assert _ready(client) == (200, "ok")


def test_readyz_stays_unavailable_while_postgresql_is_down_and_recovers_when_it_is_back(
    admin: psycopg.Connection[Any],
) -> None:
    client = Client()
    assert _ready(client) == (200, "ok")
    name = connection.settings_dict["NAME"]
    pool = getattr(connection, "pool", None)  # with a connection pool, a check waits for a connection:
    saved = pool.timeout if pool is not None else None
    if pool is not None:
        pool.timeout = 2.0  # here briefly (DATABASE_POOL_TIMEOUT bounds it otherwise)
    try:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # down: no new sessions
        _sessions_end(admin)
        for _ in range(3):
            status, check = _ready(client)
            assert status == 503, check
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # back
        back = time.monotonic()
        # A connection pool retries with a back-off after failed connects: recovery takes seconds.
        while _ready(client)[0] != 200:
            assert time.monotonic() - back < RECOVERY_SECONDS, "readyz did not recover"
            time.sleep(0.2)
        print(f"readyz recovered {time.monotonic() - back:.1f} s after PostgreSQL accepted sessions again")
        assert _ready(client) == (200, "ok")
    finally:
        if pool is not None:
            pool.timeout = saved
