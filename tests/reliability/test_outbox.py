"""The transactional outbox: a task is queued in the transaction that causes it, so a broker that is
down at commit loses nothing (the sweep relays it later, exactly once) and a transaction rolled back
sends nothing. The broker is a real Redis; "down" is a broker address where nothing listens."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from baohan.celery import app
from baohan.embedded import EmbeddedRedis
from baohan.ops.models import OutboxPending
from baohan.outbox.models import OutboxMessage
from baohan.outbox.services import OutboxOutsideCentre, outbox_enqueue, outbox_sweep
from tenants.models import Tenant

pytestmark = pytest.mark.usefixtures("committed_db")

PROBE = "tests.outbox_probe"
COMMIT_SECONDS = 2.0


@app.task(name=PROBE)  # type: ignore[untyped-decorator]
def outbox_probe(token: str) -> str:
    return token


def _forget_connections() -> None:
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path_factory.mktemp("outbox") / "redis")
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    try:
        yield redis
    finally:
        app.conf.update(saved)
        _forget_connections()
        redis.stop()


def _use(url: str) -> None:
    app.conf.update(broker_url=url, task_always_eager=False)
    _forget_connections()


def _down(tmp_path: Path) -> str:
    return f"redis+socket://{tmp_path / 'no-broker.sock'}"  # nothing listens there: refused at once


def _queued(redis: EmbeddedRedis, token: str) -> list[dict[str, Any]]:
    """The messages waiting in the broker's default queue for ``token``."""
    client = redis_lib.Redis(unix_socket_path=redis.url.removeprefix("redis+socket://"))
    found = []
    for raw in client.lrange("celery", 0, -1):
        message = json.loads(raw)
        headers = message["headers"]
        if headers.get("task") == PROBE and token in str(headers.get("argsrepr")):
            found.append(headers)
    return found


def _unsent(centre: Tenant) -> list[OutboxMessage]:
    with tenant_context(centre):
        rows = list(OutboxMessage.objects.filter(task=PROBE))
    connection.set_schema_to_public()
    return rows


def _enqueue(centre: Tenant, token: str) -> None:
    with tenant_context(centre), transaction.atomic():
        outbox_enqueue(task=PROBE, args=[token])
    connection.set_schema_to_public()


def _enqueue_then_fail(token: str) -> None:
    with transaction.atomic():
        outbox_enqueue(task=PROBE, args=[token])
        raise RuntimeError("changed its mind")


def test_a_broker_down_at_commit_loses_nothing_and_the_sweep_relays_it_exactly_once(
    broker: EmbeddedRedis, tmp_path: Path
) -> None:
    benxi = Tenant.objects.get(code="benxi")
    token = uuid.uuid4().hex
    _use(_down(tmp_path))
    started = time.monotonic()
    _enqueue(benxi, token)  # the commit succeeds; the relay on commit finds no broker
    held = time.monotonic() - started
    print(f"a commit with the broker down took {held:.2f} s")
    assert held < COMMIT_SECONDS  # the broker is tried once, not for seconds

    [row] = _unsent(benxi)
    assert row.attempts == 1
    assert row.last_error
    assert OutboxPending.objects.filter(schema_name="benxi").exists()

    _use(_down(tmp_path))
    assert outbox_sweep(settle_seconds=0).get("benxi", 0) == 0  # still down: the row waits
    assert len(_unsent(benxi)) == 1

    _use(broker.url)  # the broker is back
    assert outbox_sweep(settle_seconds=0)["benxi"] == 1
    assert _unsent(benxi) == []
    assert not OutboxPending.objects.filter(schema_name="benxi").exists()
    [message] = _queued(broker, token)
    assert message["_schema_name"] == "benxi"  # it runs in the centre that queued it
    assert message["id"] == f"outbox-benxi-{row.pk}"

    assert outbox_sweep(settle_seconds=0) == {}  # nothing left: a second sweep sends nothing
    assert len(_queued(broker, token)) == 1


def test_with_the_broker_up_the_task_leaves_on_commit_and_the_sweep_has_nothing_to_do(
    broker: EmbeddedRedis,
) -> None:
    xinjiang = Tenant.objects.get(code="xinjiang")
    token = uuid.uuid4().hex
    _use(broker.url)
    _enqueue(xinjiang, token)
    assert len(_queued(broker, token)) == 1
    assert _unsent(xinjiang) == []
    assert not OutboxPending.objects.filter(schema_name="xinjiang").exists()
    assert outbox_sweep(settle_seconds=0) == {}  # an idle platform: one query, no centre visited
    assert len(_queued(broker, token)) == 1


def test_a_transaction_rolled_back_sends_nothing(broker: EmbeddedRedis) -> None:
    benxi = Tenant.objects.get(code="benxi")
    token = uuid.uuid4().hex
    _use(broker.url)
    markers = OutboxPending.objects.count()
    with pytest.raises(RuntimeError, match="changed its mind"), tenant_context(benxi):
        _enqueue_then_fail(token)
    connection.set_schema_to_public()
    assert _unsent(benxi) == []
    assert OutboxPending.objects.count() == markers
    assert outbox_sweep(settle_seconds=0).get("benxi", 0) == 0
    assert _queued(broker, token) == []


def test_a_savepoint_rolled_back_drops_only_its_own_task(broker: EmbeddedRedis) -> None:
    benxi = Tenant.objects.get(code="benxi")
    kept, dropped = uuid.uuid4().hex, uuid.uuid4().hex
    _use(broker.url)
    with tenant_context(benxi), transaction.atomic():
        outbox_enqueue(task=PROBE, args=[kept])
        with pytest.raises(RuntimeError):
            _enqueue_then_fail(dropped)
    connection.set_schema_to_public()
    assert len(_queued(broker, kept)) == 1
    assert _queued(broker, dropped) == []
    assert _unsent(benxi) == []


def test_the_outbox_refuses_a_task_without_a_centre() -> None:
    connection.set_schema_to_public()
    with pytest.raises(OutboxOutsideCentre):
        outbox_enqueue(task=PROBE, args=["x"])
