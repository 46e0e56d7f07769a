"""Releasing a parked outbox row: ``outbox_parked`` lists the rows parked in every centre, and
``--release`` / ``--release-all`` (with ``--centre``) sets them back in line for the next sweep, in
that centre only; a wrong id, a row not parked or an unknown centre changes nothing. The broker is a
real Redis."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.celery import app
from baohan.embedded import EmbeddedRedis
from baohan.ops.models import OutboxPending
from baohan.outbox.models import OutboxMessage
from baohan.outbox.services import (
    PARK_AFTER_TASK_ERRORS,
    PARK_NOT_BEFORE_SECONDS,
    outbox_enqueue,
    outbox_sweep,
)
from tenants.db import connection
from tenants.models import Tenant

pytestmark = pytest.mark.usefixtures("committed_db")


def _forget_connections() -> None:
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path_factory.mktemp("outbox-release") / "redis")
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=redis.url, task_always_eager=False)
    _forget_connections()
    try:
        yield redis
    finally:
        app.conf.update(saved)
        _forget_connections()
        redis.stop()


@pytest.fixture
def late_task() -> Iterator[str]:
    """A task name no process knows yet (as while a deploy is under way); registered by ``_deploy``."""
    name = f"tests.outbox_late_{uuid.uuid4().hex[:12]}"
    yield name
    app.tasks.pop(name, None)


def _late(token: str) -> str:
    return token


def _deploy(name: str) -> None:
    app.task(name=name)(_late)


def _queued(redis: EmbeddedRedis, task: str) -> list[Any]:
    client = redis_lib.Redis(unix_socket_path=redis.url.removeprefix("redis+socket://"))
    return [
        json.loads(raw)["headers"]
        for raw in client.lrange("celery", 0, -1)
        if json.loads(raw)["headers"].get("task") == task
    ]


def _park(centre: Tenant, task: str, args: list[Any]) -> int:
    """A row whose task fails of itself, driven by the sweep until it is parked (written long enough
    ago, and one failure short of parking, so that one sweep parks it)."""
    with tenant_context(centre), transaction.atomic():
        pk = outbox_enqueue(task=task, args=args).pk
    connection.set_schema_to_public()
    with tenant_context(centre):
        OutboxMessage.objects.filter(pk=pk).update(
            created_at=timezone.now() - timedelta(seconds=PARK_NOT_BEFORE_SECONDS + 60),
            task_errors=PARK_AFTER_TASK_ERRORS - 1,
        )
    connection.set_schema_to_public()
    outbox_sweep(settle_seconds=0)
    row = _row(centre, pk)
    assert row is not None
    assert row.parked_at is not None
    assert row.task_errors == PARK_AFTER_TASK_ERRORS
    assert row.last_error.startswith("NotRegistered")
    return pk


def _row(centre: Tenant, pk: int) -> OutboxMessage | None:
    with tenant_context(centre):
        row = OutboxMessage.objects.filter(pk=pk).first()
    connection.set_schema_to_public()
    return row


def _state(centre: Tenant) -> list[tuple[int, str, int, bool]]:
    with tenant_context(centre):
        rows = [(r.pk, r.task, r.task_errors, r.parked_at is not None) for r in OutboxMessage.objects.order_by("id")]
    connection.set_schema_to_public()
    return rows


def _forget(centre: Tenant) -> None:
    with tenant_context(centre):
        OutboxMessage.objects.all().delete()
    connection.set_schema_to_public()
    OutboxPending.objects.filter(schema_name=centre.schema_name).delete()


@pytest.fixture
def centres() -> Iterator[tuple[Tenant, Tenant]]:
    benxi, xinjiang = Tenant.objects.get(code="benxi"), Tenant.objects.get(code="xinjiang")
    yield benxi, xinjiang
    _forget(benxi)
    _forget(xinjiang)


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command("outbox_parked", *args, stdout=out)
    return out.getvalue()


def test_a_released_row_is_relayed_by_the_next_sweep(
    broker: EmbeddedRedis, late_task: str, centres: tuple[Tenant, Tenant]
) -> None:
    benxi, _ = centres
    pk = _park(benxi, late_task, ["t1"])
    assert not OutboxPending.objects.filter(schema_name="benxi").exists()  # nothing relayable is left
    assert outbox_sweep(settle_seconds=0).get("benxi", 0) == 0

    listing = _command()
    [line] = [line for line in listing.splitlines() if late_task in line]
    centre, schema, row_id, task, errors, _parked_at, last_error = line.split("\t")
    assert (centre, schema, int(row_id), task, int(errors)) == ("benxi", "benxi", pk, late_task, PARK_AFTER_TASK_ERRORS)
    assert last_error.startswith("NotRegistered")

    _deploy(late_task)  # the cause is fixed
    out = _command("--release", str(pk), "--centre", "benxi")
    assert "released 1 row" in out
    row = _row(benxi, pk)
    assert row is not None
    assert row.parked_at is None
    assert row.task_errors == 0
    assert OutboxPending.objects.filter(schema_name="benxi").exists()
    assert late_task not in _command("--centre", "benxi")

    assert outbox_sweep(settle_seconds=0)["benxi"] == 1
    [message] = _queued(broker, late_task)
    assert message["_schema_name"] == "benxi"
    assert message["id"] == f"outbox-benxi-{pk}"
    assert _row(benxi, pk) is None
    assert not OutboxPending.objects.filter(schema_name="benxi").exists()
    assert outbox_sweep(settle_seconds=0).get("benxi", 0) == 0  # sent once


def test_release_all_of_one_centre_leaves_every_other_centre_alone(
    broker: EmbeddedRedis, late_task: str, centres: tuple[Tenant, Tenant]
) -> None:
    benxi, xinjiang = centres
    mine = [_park(benxi, late_task, ["b1"]), _park(benxi, late_task, ["b2"])]
    theirs = _park(xinjiang, late_task, ["x1"])
    xinjiang_before = _state(xinjiang)
    _deploy(late_task)

    assert "released 2 row(s)" in _command("--release-all", "--centre", "benxi")
    assert all(not parked for pk, _, _, parked in _state(benxi) if pk in mine)
    assert _state(xinjiang) == xinjiang_before  # still parked, its count kept
    assert not OutboxPending.objects.filter(schema_name="xinjiang").exists()
    relayed = outbox_sweep(settle_seconds=0)
    assert relayed["benxi"] == 2
    assert "xinjiang" not in relayed
    assert {m["_schema_name"] for m in _queued(broker, late_task)} == {"benxi"}
    assert _state(xinjiang) == xinjiang_before

    # Listed by centre: xinjiang's row is not benxi's, and is released only with xinjiang named.
    assert late_task not in _command("--centre", "benxi")
    assert f"xinjiang\txinjiang\t{theirs}\t{late_task}" in _command("--centre", "xinjiang")
    assert "released 1 row" in _command("--release", str(theirs), "--centre", "xinjiang")
    assert outbox_sweep(settle_seconds=0)["xinjiang"] == 1
    assert {m["_schema_name"] for m in _queued(broker, late_task)} == {"benxi", "xinjiang"}
    assert "no parked rows" in _command("--release-all", "--centre", "benxi")


def test_bad_input_changes_nothing(broker: EmbeddedRedis, late_task: str, centres: tuple[Tenant, Tenant]) -> None:
    benxi, xinjiang = centres
    parked = _park(benxi, late_task, ["p"])
    app.conf.update(broker_url=f"redis+socket://{Path('/nonexistent') / 'no-broker.sock'}")
    _forget_connections()
    try:
        with tenant_context(benxi), transaction.atomic():
            waiting = outbox_enqueue(task=late_task, args=["w"]).pk  # not parked: waiting for the broker
        connection.set_schema_to_public()
    finally:
        app.conf.update(broker_url=broker.url)
        _forget_connections()
    OutboxPending.objects.filter(schema_name="benxi").delete()
    before = _state(benxi), _state(xinjiang), OutboxPending.objects.count()
    missing = max(parked, waiting) + 1000

    with pytest.raises(CommandError, match=f"no such row: {missing}"):
        _command("--release", str(parked), "--release", str(missing), "--centre", "benxi")
    with pytest.raises(CommandError, match=f"not parked: {waiting}"):
        _command("--release", str(parked), "--release", str(waiting), "--centre", "benxi")
    with pytest.raises(CommandError, match="no centre 'nowhere'"):
        _command("--release", str(parked), "--centre", "nowhere")
    with pytest.raises(CommandError, match="no centre 'nowhere'"):
        _command("--release-all", "--centre", "nowhere")
    with pytest.raises(CommandError, match="needs --centre"):
        _command("--release", str(parked))
    with pytest.raises(CommandError):
        _command("--release", "abc", "--centre", "benxi")
    assert (_state(benxi), _state(xinjiang), OutboxPending.objects.count()) == before
    row = _row(benxi, parked)
    assert row is not None
    assert row.parked_at is not None
    assert row.task_errors == PARK_AFTER_TASK_ERRORS
