"""Console bulk operations survive a broker outage and a dead worker: starting one with the broker
down still succeeds (the page does not fail) and the sweep queues it again later; an operation is
run once however often it is delivered; one whose worker died is failed by the sweep, with a message,
and the console can start another. The broker is a real Redis; "down" is an address where nothing
listens."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from baohan.celery import app
from baohan.console.models import BulkOperation, ConsoleRole
from baohan.console.operations import (
    REQUEUE_AFTER_SECONDS,
    STALE_AFTER_SECONDS,
    CentreResult,
    bulk_operation_run,
    bulk_operation_start,
    bulk_operations_recover,
)
from baohan.embedded import EmbeddedRedis
from baohan.guarantees.errors import Conflict
from tenants.db import connection
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

TASK = "console.bulk_operation"
_serial = itertools.count(1)


def _forget_connections() -> None:
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("bulk") / "redis")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def broker(redis: EmbeddedRedis, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The broker's address while up and while down; tasks are published, not run inline."""
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    urls = {"up": redis.url, "down": f"redis+socket://{tmp_path / 'no-broker.sock'}"}
    _client(redis).delete("celery")
    try:
        yield urls
    finally:
        app.conf.update(saved)
        _forget_connections()


def _use(url: str) -> None:
    app.conf.update(broker_url=url, task_always_eager=False)
    _forget_connections()


def _client(redis: EmbeddedRedis) -> redis_lib.Redis:
    return redis_lib.Redis(unix_socket_path=redis.url.removeprefix("redis+socket://"))


def _queued(redis: EmbeddedRedis, op_id: int) -> list[dict[str, Any]]:
    found = []
    for raw in _client(redis).lrange("celery", 0, -1):
        message = json.loads(raw)
        headers = message["headers"]
        if headers.get("task") == TASK and headers.get("argsrepr") in (f"[{op_id}]", f"({op_id},)"):
            found.append(headers)
    return found


def _admin() -> Client:
    connection.set_schema_to_public()
    user = User.objects.create_user(username=f"bulkadmin{next(_serial)}", password="console-pass-2026")
    ConsoleRole.objects.create(user=user, kind="platform_admin")
    client = Client(HTTP_HOST="localhost")
    response = client.post("/console/login/", {"username": user.username, "password": "console-pass-2026"})
    assert response.status_code == 302
    return client


def _age(op: BulkOperation, seconds: int) -> None:
    BulkOperation.objects.filter(pk=op.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def _centres() -> int:
    count: int = Tenant.objects.exclude(schema_name="public").count()
    return count


def test_a_broker_down_at_start_fails_no_page_and_the_sweep_queues_the_operation_again(
    redis: EmbeddedRedis, broker: dict[str, str], django_capture_on_commit_callbacks: Any
) -> None:
    admin = _admin()
    _use(broker["down"])
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/console/operations/", {"kind": "revalidate"}, follow=True)
    held = time.monotonic() - started
    assert response.status_code == 200  # not a 500: the broker's error is logged, not raised
    assert held < 2.0, held  # one brief try of the broker
    op = BulkOperation.objects.latest("id")
    assert op.state == BulkOperation.State.QUEUED
    assert "已开始" in response.content.decode()

    # Still down, and not yet long enough: the sweep leaves it.
    assert bulk_operations_recover().requeued == []
    _age(op, REQUEUE_AFTER_SECONDS + 1)
    assert bulk_operations_recover().requeued == [op.pk]  # tried (the broker still down): no error
    op.refresh_from_db()
    assert op.state == BulkOperation.State.QUEUED
    assert op.updated_at > timezone.now() - timedelta(seconds=60)  # the next try waits its turn
    assert bulk_operations_recover().requeued == []

    _use(broker["up"])  # the broker is back
    _age(op, REQUEUE_AFTER_SECONDS + 1)
    assert bulk_operations_recover().requeued == [op.pk]
    [message] = _queued(redis, op.pk)
    assert message["_schema_name"] == "public"

    assert bulk_operation_run(op_id=op.pk)  # the worker takes it
    op.refresh_from_db()
    assert (op.state, op.done, op.total) == (BulkOperation.State.DONE, _centres(), _centres())
    assert bulk_operations_recover().requeued == []  # done: nothing more to queue


def test_with_the_broker_up_the_operation_is_queued_once_on_commit(
    redis: EmbeddedRedis, broker: dict[str, str], django_capture_on_commit_callbacks: Any
) -> None:
    _use(broker["up"])
    with django_capture_on_commit_callbacks(execute=True):
        op = bulk_operation_start(kind="revalidate", actor=None)
    assert len(_queued(redis, op.pk)) == 1
    assert bulk_operations_recover().requeued == []  # young and queued: left to the worker


def test_an_operation_delivered_twice_runs_once() -> None:
    op = BulkOperation.objects.create(kind="revalidate", total=_centres())
    seen: list[str] = []

    def progress(current: BulkOperation, result: CentreResult) -> None:
        seen.append(result.code)

    assert bulk_operation_run(op_id=op.pk, progress=progress) is True
    op.refresh_from_db()
    assert op.state == BulkOperation.State.DONE
    results = op.results
    assert len(seen) == _centres()

    assert bulk_operation_run(op_id=op.pk, progress=progress) is False  # a second delivery
    op.refresh_from_db()
    assert (op.state, op.results, len(seen)) == (BulkOperation.State.DONE, results, _centres())

    # Claimed by another worker (running): this one does nothing either.
    other = BulkOperation.objects.create(kind="revalidate", total=_centres(), state=BulkOperation.State.RUNNING)
    assert bulk_operation_run(op_id=other.pk, progress=progress) is False
    other.refresh_from_db()
    assert (other.state, other.done, other.results, len(seen)) == (BulkOperation.State.RUNNING, 0, [], _centres())
    other.delete()


def test_a_running_operation_whose_worker_died_is_failed_and_another_can_start(
    broker: dict[str, str], django_capture_on_commit_callbacks: Any
) -> None:
    _use(broker["down"])
    admin = _admin()
    dead = BulkOperation.objects.create(kind="migrate", total=_centres(), state=BulkOperation.State.RUNNING)
    with pytest.raises(Conflict):
        bulk_operation_start(kind="revalidate", actor=None)

    _age(dead, STALE_AFTER_SECONDS - 60)
    assert bulk_operations_recover().failed == []  # slow is not dead
    _age(dead, STALE_AFTER_SECONDS + 1)
    assert bulk_operations_recover().failed == [dead.pk]
    dead.refresh_from_db()
    assert dead.state == BulkOperation.State.FAILED
    assert dead.finished_at is not None
    [entry] = dead.results
    assert entry["ok"] is False
    assert "30 分钟没有进展" in entry["message"]
    page = admin.get("/console/operations/").content.decode()
    assert f'data-operation="{dead.pk}" data-state="failed"' in page
    assert "30 分钟没有进展" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/console/operations/", {"kind": "revalidate"}, follow=True)
    assert response.status_code == 200
    assert "已有批量操作在进行" not in response.content.decode()
    assert BulkOperation.objects.latest("id").pk != dead.pk


def test_a_worker_whose_operation_was_failed_meanwhile_stops_and_does_not_overwrite_it() -> None:
    op = BulkOperation.objects.create(kind="revalidate", total=_centres())
    seen: list[str] = []

    def progress(current: BulkOperation, result: CentreResult) -> None:
        seen.append(result.code)
        if len(seen) == 1:  # the worker stalls after its first centre; the sweep gives up on it
            _age(current, STALE_AFTER_SECONDS + 1)
            assert bulk_operations_recover().failed == [current.pk]

    assert bulk_operation_run(op_id=op.pk, progress=progress) is True
    op.refresh_from_db()
    assert len(seen) == 1
    assert op.state == BulkOperation.State.FAILED  # not "done" over the sweep's verdict
    assert op.done == 1
    assert [r["ok"] for r in op.results] == [True, False]
