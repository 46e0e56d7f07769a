"""The transactional outbox: a task is queued in the transaction that causes it, so a broker that is
down at commit loses nothing (the sweep relays it later, exactly once) and a transaction rolled back
sends nothing. The broker is a real Redis; "down" is a broker address where nothing listens."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.celery import app
from baohan.embedded import EmbeddedRedis
from baohan.ops.models import OutboxPending
from baohan.outbox.models import OutboxMessage
from baohan.outbox.services import (
    PARK_AFTER_TASK_ERRORS,
    PARK_NOT_BEFORE_SECONDS,
    OutboxOutsideCentre,
    outbox_enqueue,
    outbox_sweep,
)
from tenants.models import Tenant

pytestmark = pytest.mark.usefixtures("committed_db")

PROBE = "tests.outbox_probe"
UNREGISTERED = "tests.outbox_no_such_task"
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


def _rows(centre: Tenant, ids: list[int]) -> list[OutboxMessage]:
    with tenant_context(centre):
        rows = list(OutboxMessage.objects.filter(pk__in=ids).order_by("id"))
    connection.set_schema_to_public()
    return rows


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _logged(name: str) -> Iterator[_Records]:
    """The records of logger ``name``, caught on the logger itself (the first import of the task
    modules sets Django's logging up again, which drops handlers put on the root, pytest's too)."""
    handler = _Records()
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _forget_rows(centre: Tenant, ids: list[int]) -> None:
    with tenant_context(centre):
        OutboxMessage.objects.filter(pk__in=ids).delete()
    connection.set_schema_to_public()
    OutboxPending.objects.filter(schema_name=centre.schema_name).delete()


def test_a_row_that_cannot_be_published_holds_up_none_of_its_centre_and_is_parked_after_its_fifth_failure(
    broker: EmbeddedRedis, tmp_path: Path
) -> None:
    benxi = Tenant.objects.get(code="benxi")
    before, after, later = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    _use(_down(tmp_path))  # every row waits for the sweep, the bad ones ahead of a good one
    _enqueue(benxi, before)
    with tenant_context(benxi), transaction.atomic():
        unknown = outbox_enqueue(task=UNREGISTERED, args=["x"]).pk  # a task no process registers
        misfit = outbox_enqueue(task=PROBE, kwargs={"nope": 1}).pk  # arguments the task does not take
        # Written long enough ago to be parked (a younger row is tried on, see the next test).
        OutboxMessage.objects.filter(pk__in=[unknown, misfit]).update(
            created_at=timezone.now() - timedelta(seconds=PARK_NOT_BEFORE_SECONDS + 60)
        )
    connection.set_schema_to_public()
    _enqueue(benxi, after)
    bad = [unknown, misfit]
    try:
        # On commit the bad rows failed of themselves (no broker needed to tell): counted once each.
        assert [r.task_errors for r in _rows(benxi, bad)] == [1, 1]

        _use(broker.url)
        with _logged("baohan.outbox.services") as logged:
            assert outbox_sweep(settle_seconds=0)["benxi"] == 2  # the good rows went, past the bad ones
            assert len(_queued(broker, before)) == 1
            assert len(_queued(broker, after)) == 1
            assert _unsent(benxi) == [r for r in _rows(benxi, bad) if r.task == PROBE]  # only the misfit is left
            rows = _rows(benxi, bad)
            assert [r.task_errors for r in rows] == [2, 2]
            assert [r.parked_at for r in rows] == [None, None]
            assert rows[0].last_error.startswith("NotRegistered")
            assert rows[1].last_error.startswith("TypeError")
            assert OutboxPending.objects.filter(schema_name="benxi").exists()  # they are still to relay

            for _ in range(PARK_AFTER_TASK_ERRORS - 2):
                outbox_sweep(settle_seconds=0)
            rows = _rows(benxi, bad)
            assert [r.task_errors for r in rows] == [PARK_AFTER_TASK_ERRORS] * 2
            assert all(r.parked_at is not None for r in rows)
            # Nothing relayable is left in the centre: its marker went.
            assert not OutboxPending.objects.filter(schema_name="benxi").exists()
        parked = [r.getMessage() for r in logged.records if r.levelno == logging.ERROR]
        assert any(UNREGISTERED in m and "benxi" in m for m in parked), parked
        assert any(PROBE in m and "benxi" in m for m in parked), parked
        assert all("nope" not in m for m in parked)  # the arguments stay in the row, out of the log

        # Parked rows are left alone: the centre's next task leaves on commit, the sweep has no work.
        _enqueue(benxi, later)
        assert len(_queued(broker, later)) == 1
        assert not OutboxPending.objects.filter(schema_name="benxi").exists()
        assert outbox_sweep(settle_seconds=0).get("benxi", 0) == 0
        assert [r.task_errors for r in _rows(benxi, bad)] == [PARK_AFTER_TASK_ERRORS] * 2
    finally:
        _forget_rows(benxi, bad)


def test_a_failing_row_written_moments_ago_is_tried_on_rather_than_parked(broker: EmbeddedRedis) -> None:
    """While a deploy replaces workers one by one, an old worker does not know a task the new code
    queues: a few failures in the first minutes do not park a row."""
    xinjiang = Tenant.objects.get(code="xinjiang")
    _use(broker.url)
    with tenant_context(xinjiang), transaction.atomic():
        unknown = outbox_enqueue(task=UNREGISTERED, args=["x"]).pk
    connection.set_schema_to_public()
    try:
        for _ in range(PARK_AFTER_TASK_ERRORS):
            outbox_sweep(settle_seconds=0)
        [row] = _rows(xinjiang, [unknown])
        assert row.task_errors == PARK_AFTER_TASK_ERRORS + 1
        assert row.parked_at is None
        assert OutboxPending.objects.filter(schema_name="xinjiang").exists()
    finally:
        _forget_rows(xinjiang, [unknown])


def test_a_long_broker_outage_blames_no_row_and_leaves_every_row_for_the_sweep(
    broker: EmbeddedRedis, tmp_path: Path
) -> None:
    xinjiang = Tenant.objects.get(code="xinjiang")
    tokens = [uuid.uuid4().hex for _ in range(3)]
    _use(_down(tmp_path))
    with tenant_context(xinjiang), transaction.atomic():
        for token in tokens:
            outbox_enqueue(task=PROBE, args=[token])
    connection.set_schema_to_public()
    for _ in range(PARK_AFTER_TASK_ERRORS + 1):  # the outage outlasts as many sweeps as would park a row
        assert outbox_sweep(settle_seconds=0).get("xinjiang", 0) == 0

    rows = _unsent(xinjiang)
    assert [r.args for r in rows] == [[t] for t in tokens]
    assert [r.parked_at for r in rows] == [None] * 3
    assert [r.task_errors for r in rows] == [0] * 3
    # Each relay (on commit, then every sweep) stopped at the first row, at the broker's first refusal.
    assert [r.attempts for r in rows] == [PARK_AFTER_TASK_ERRORS + 2, 0, 0]
    assert OutboxPending.objects.filter(schema_name="xinjiang").exists()

    _use(broker.url)
    assert outbox_sweep(settle_seconds=0)["xinjiang"] == 3
    assert all(len(_queued(broker, t)) == 1 for t in tokens)
    assert _unsent(xinjiang) == []
    assert not OutboxPending.objects.filter(schema_name="xinjiang").exists()


def _full_backlog() -> tuple[str, Callable[[], None]]:
    """A broker address whose connections hang: a listener that never accepts, its backlog full."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)

    def close() -> None:
        for s in [*fillers, server]:
            s.close()

    return f"redis://127.0.0.1:{port}/0", close


def _silent() -> tuple[str, Callable[[], None]]:
    """A broker address that accepts connections and never answers (a hung Redis), each connection
    closed after 8 s at the latest so that a relay without a timeout fails the test rather than hang."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        held: list[tuple[float, socket.socket]] = []
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append((time.monotonic(), server.accept()[0]))
            for since, conn in [h for h in held if time.monotonic() - h[0] > 8]:
                conn.close()
                held.remove((since, conn))
        for _, conn in held:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join()
        server.close()

    return f"redis://127.0.0.1:{server.getsockname()[1]}/0", close


@pytest.mark.parametrize("hanging", [_full_backlog, _silent], ids=["connect-hangs", "replies-never-come"])
def test_a_broker_that_hangs_holds_a_commit_briefly_and_the_row_waits_for_the_sweep(
    broker: EmbeddedRedis, hanging: Callable[[], tuple[str, Callable[[], None]]]
) -> None:
    benxi = Tenant.objects.get(code="benxi")
    token = uuid.uuid4().hex
    url, close = hanging()
    try:
        _use(url)
        started = time.monotonic()
        _enqueue(benxi, token)
        held = time.monotonic() - started
    finally:
        close()
    print(f"a commit with a hanging broker took {held:.2f} s")
    assert held < COMMIT_SECONDS  # one bounded try, not the broker's 3 s connect timeout twice over
    [row] = _unsent(benxi)
    assert row.attempts == 1
    assert row.task_errors == 0

    _use(broker.url)
    assert outbox_sweep(settle_seconds=0)["benxi"] == 1
    assert len(_queued(broker, token)) == 1
    assert not OutboxPending.objects.filter(schema_name="benxi").exists()


def test_a_connection_the_broker_closed_is_replaced_once_and_the_task_still_leaves_on_commit(
    broker: EmbeddedRedis,
) -> None:
    benxi = Tenant.objects.get(code="benxi")
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    _use(broker.url)
    _enqueue(benxi, first)
    assert len(_queued(broker, first)) == 1
    client = redis_lib.Redis(unix_socket_path=broker.url.removeprefix("redis+socket://"))
    assert client.client_kill_filter(_type="normal") >= 1  # as a broker restart does
    _enqueue(benxi, second)
    assert len(_queued(broker, second)) == 1
    assert _unsent(benxi) == []
    assert not OutboxPending.objects.filter(schema_name="benxi").exists()
