"""A worker SIGKILLed mid-task: the task is delivered again (late acknowledgement, Redis's visibility
timeout, kept short here) and its effect happens exactly once.

The task is the real policy task of an issued order. It is held mid-way deterministically: the test
locks the order's row from a connection of its own, so the worker renders the PDF and then waits
for the lock inside its transaction. The worker is then SIGKILLed, the lock released, and a second
worker started; it receives the task again and makes the one policy. The same task delivered once
more (a duplicate) changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import redis as redis_lib
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from baohan.celery import app
from baohan.documents.models import Policy
from baohan.embedded import EmbeddedRedis
from baohan.guarantees.models import Order, OrderEvent
from baohan.outbox.services import outbox_enqueue
from tests.api import tenant
from tests.money import benxi_like_waiting

pytestmark = pytest.mark.usefixtures("committed_db")

VISIBILITY_TIMEOUT = 4  # seconds, for the test; production keeps CELERY_VISIBILITY_TIMEOUT (1800)
CENTRE = "benxi"


def _database_url() -> str:
    db = connection.settings_dict
    host = db["HOST"] or db["OPTIONS"].get("host", "")
    if host.startswith("/"):
        return f"postgresql://{db['USER']}:{db['PASSWORD'] or ''}@/{db['NAME']}?host={host}"
    return f"postgresql://{db['USER']}:{db['PASSWORD'] or ''}@{host}:{db['PORT']}/{db['NAME']}"


def _own_connection(*, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection outside Django's: one holds a lock while the worker waits for it, one (in
    autocommit, since activity statistics are a snapshot per transaction) watches."""
    db = connection.settings_dict
    host = db["HOST"] or db["OPTIONS"].get("host", "")
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=host,
        port=db["PORT"] or None,
        autocommit=autocommit,
    )


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, django_db_setup: None) -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path_factory.mktemp("faults") / "redis")
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    try:
        yield redis
    finally:
        app.conf.update(saved)
        app._pool = None
        app.amqp._producer_pool = None
        redis.stop()


def _worker(broker: EmbeddedRedis) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker.url,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "DJANGO_SETTINGS_MODULE": "baohan.settings.base",
        "PYTHONPATH": os.pathsep.join([str(settings.PLATFORM_DIR), str(settings.ROOT_DIR)]),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "baohan",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ],
        env=env,
        cwd=settings.ROOT_DIR,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _until(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout:.0f} s for {what}")


def _waiting_for_lock(watch: psycopg.Connection[Any], holder: psycopg.Connection[Any]) -> int | None:
    """The pid of a backend (the worker's) waiting for the row lock ``holder`` holds."""
    row = watch.execute(
        "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [holder.info.backend_pid]
    ).fetchone()
    return int(row[0]) if row else None


def _policies(order_id: int) -> tuple[int, int]:
    with tenant_context(tenant(CENTRE)):
        policies = Policy.objects.filter(order_id=order_id).count()
        events = OrderEvent.objects.filter(order_id=order_id, transition="policy_generated").count()
    connection.set_schema_to_public()
    return policies, events


def _queue_policy_task(order_id: int) -> None:
    with tenant_context(tenant(CENTRE)), transaction.atomic():
        outbox_enqueue(task="documents.policy_generate", args=[order_id])
    connection.set_schema_to_public()


def _broker_empty(broker: EmbeddedRedis) -> bool:
    client = redis_lib.Redis(unix_socket_path=broker.url.removeprefix("redis+socket://"))
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


def test_a_worker_killed_mid_task_has_it_redone_once_and_the_policy_made_once(broker: EmbeddedRedis) -> None:
    # An issued order (its policy made inline, tasks eager), whose policy is then taken away.
    waiting = benxi_like_waiting(CENTRE)
    status, order = waiting.issuer.post(
        f"/api/v1/issuer/orders/{waiting.number}/payment", {"outcome": "confirmed", "amount": str(waiting.payable)}
    )
    assert status == 200, order
    status, order = waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})
    assert (status, order["state"]) == (200, "issued"), order
    order_id = waiting.order().pk
    assert _policies(order_id) == (1, 1)
    with tenant_context(tenant(CENTRE)):
        Policy.objects.filter(order_id=order_id).delete()
        OrderEvent.objects.filter(order_id=order_id, transition="policy_generated").delete()
    connection.set_schema_to_public()
    assert _policies(order_id) == (0, 0)

    app.conf.update(broker_url=broker.url, task_always_eager=False)
    app._pool = None
    app.amqp._producer_pool = None

    own, watch = _own_connection(), _own_connection(autocommit=True)
    first = second = None
    try:
        own.execute(f"SELECT id FROM {CENTRE}.guarantees_order WHERE id = %s FOR UPDATE", [order_id])
        _queue_policy_task(order_id)
        first = _worker(broker)
        # The worker took the task, rendered the PDF and waits for the order's lock: mid-task.
        pid = _until(lambda: _waiting_for_lock(watch, own), timeout=90, what="the worker to wait for the lock")
        first.kill()  # SIGKILL: no acknowledgement, no clean-up
        first.wait(timeout=10)
        own.rollback()  # the lock is released; the dead worker's session ends without committing
        _until(
            lambda: watch.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() == (0,),
            timeout=30,
            what="the killed worker's session to end",
        )
        assert _policies(order_id) == (0, 0)  # the first run changed nothing
        assert not _broker_empty(broker)  # the task is still owed: it was never acknowledged

        killed_at = time.monotonic()
        second = _worker(broker)
        _until(lambda: _policies(order_id)[0], timeout=90, what="the redelivered task to make the policy")
        redone_after = time.monotonic() - killed_at
        print(f"redelivered and done {redone_after:.1f} s after the kill (visibility timeout {VISIBILITY_TIMEOUT} s)")
        _until(lambda: _broker_empty(broker), timeout=30, what="the redelivered task to be acknowledged")
        assert _policies(order_id) == (1, 1)

        # The same task delivered once more (as after a lost acknowledgement) changes nothing.
        _queue_policy_task(order_id)
        _until(lambda: _broker_empty(broker), timeout=60, what="the duplicate to run")
        time.sleep(VISIBILITY_TIMEOUT + 2)  # past the visibility timeout: nothing comes back
        assert _broker_empty(broker)
        assert _policies(order_id) == (1, 1)
        with tenant_context(tenant(CENTRE)):
            assert Order.objects.get(pk=order_id).state == "issued"
        connection.set_schema_to_public()
    finally:
        own.close()
        watch.close()
        for process in (first, second):
            if process is not None:
                _stop(process)
