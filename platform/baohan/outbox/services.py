"""Tasks queued in the same transaction as the change that causes them, then relayed to the broker.

``outbox_enqueue`` writes an ``OutboxMessage`` row in the centre's schema and, once per
transaction, an ``OutboxPending`` marker in the public schema (same transaction, same connection).
A transaction rolled back leaves neither, so nothing is sent. Then:

1. On commit, the rows this transaction wrote are published (best effort) and deleted; when all
   are out, the marker goes too.
2. If the broker was down (or the process died before step 1), the rows and the marker stay. The
   periodic sweep (``outbox.sweep``, beat, public schema) reads the marker table only, skips markers
   younger than ``SETTLE_SECONDS`` (step 1 is handling them), and relays the centres they name.
   An idle platform costs one indexed query per tick, whatever the number of centres.
3. A broker error (down, refusing, too slow) stops a relay: every row waits for the next sweep, and
   no row is blamed. Any other error belongs to the row (a task name no process registers,
   arguments the task does not take or that cannot be serialised): it is counted on that row and
   the relay goes on with the next one, so one bad row never holds up its centre. After
   ``PARK_AFTER_TASK_ERRORS`` such errors (and ``PARK_NOT_BEFORE_SECONDS`` after it was written) the
   row is parked (logged at ERROR, kept, never relayed again), and a marker goes once only parked
   rows are left. Once its cause is fixed (the task deployed, say), an operator releases it
   (``outbox_release``, ``manage.py outbox_parked --release ID --centre CODE``): it is relayed
   again by the next sweep, with its count of errors reset.

Publishing is bounded: one connection attempt (``BROKER_CONNECT_SECONDS``), replies awaited
``BROKER_SOCKET_SECONDS``, no retries but one fresh connection when a connection that had worked
was closed (a broker restart). A broker outage holds a committing request for milliseconds when
connections are refused, and for a second or so when they hang (0.5 s when the connection does not
open, 1 s when the broker does not answer, measured); the sweep tries again later.

Delivery is at least once: a row published whose delete did not commit is published again. Every
task queued here is therefore safe to run twice (its effect is keyed by a row in the centre's
schema: one ``Policy`` per order, an ``SmsMessage`` leaves ``queued`` once, one ``OrderNotice`` per
order and code, Stripe refunds carry the payout's idempotency key). A publish carries the centre's
schema the way every task here does (tenant-schemas-celery's header, set from the connection).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django import db
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from baohan.ops.models import OutboxPending
from baohan.outbox.models import OutboxMessage
from tenants.db import connection

log = logging.getLogger(__name__)

SETTLE_SECONDS = 10  # a marker younger than this is left to its transaction's own on-commit relay
RELAY_BATCH = 500
PARK_AFTER_TASK_ERRORS = 5  # failures of a row's own making before it is set aside
# ... and not before the row is this old: while a deploy replaces the workers one by one, an old
# worker's sweep does not know a task the new code queues (NotRegistered), for a few minutes.
PARK_NOT_BEFORE_SECONDS = 900
BROKER_CONNECT_SECONDS = 0.5  # a broker on the network answers a connection in milliseconds
BROKER_SOCKET_SECONDS = 1.0  # a reply (PING, LPUSH) slower than this is an outage, not a load
# Errors of the broker or the way to it, not of the row being published. (kombu lists KeyError among
# Redis's connection errors; a task name not registered is a KeyError, and the row's own.)
BROKER_ERRORS: tuple[type[BaseException], ...] = (BrokerOperationalError, OSError, RedisError)


class OutboxOutsideCentre(RuntimeError):
    """A task was queued in the outbox without a centre (the outbox lives in a centre's schema)."""


@dataclass
class _OnCommitRelay:
    """The on-commit relay of one transaction: the rows it wrote and its marker."""

    schema_name: str
    marker_id: int
    ids: list[int] = field(default_factory=list)

    def __call__(self) -> None:
        previous = connection.tenant
        switched = connection.schema_name != self.schema_name  # the transaction moved to another centre
        if switched:
            from tenants.models import Tenant

            connection.set_tenant(Tenant.objects.get(schema_name=self.schema_name))
        try:
            outbox_relay(ids=self.ids)
            if not _relayable().filter(pk__in=self.ids).exists():
                OutboxPending.objects.filter(pk=self.marker_id).delete()
        except Exception as exc:
            if _eager():
                raise  # tasks run inline (tests, no broker): their errors are the caller's, as before
            # The rows and the marker stay: the sweep sends them once the broker is back.
            log.warning("outbox: relay on commit failed in %s: %s", self.schema_name, type(exc).__name__)
        finally:
            if switched:
                connection.set_tenant(previous)


def _relayable() -> Any:
    """This centre's rows still to relay (a parked row is not)."""
    return OutboxMessage.objects.filter(parked_at__isnull=True)


class OutboxTasksUnavailable(RuntimeError):
    """This process could not import the task modules: no row is to blame, the relay stops."""


def _eager() -> bool:
    from baohan.celery import app

    return bool(app.conf.task_always_eager)


def outbox_enqueue(*, task: str, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None) -> OutboxMessage:
    """Queue ``task`` to run (in this centre's schema) once the current transaction commits."""
    schema = connection.schema_name
    if schema == get_public_schema_name():
        raise OutboxOutsideCentre(f"{task} was queued without a centre")
    if not db.connection.in_atomic_block:
        with transaction.atomic():
            return outbox_enqueue(task=task, args=args, kwargs=kwargs)
    row = OutboxMessage.objects.create(task=task, args=list(args), kwargs=dict(kwargs or {}))
    # One relay (and one marker) per atomic block: a relay registered in this very block is reused.
    block = set(db.connection.savepoint_ids)
    relay = next(
        (
            c
            for sids, c, *_ in db.connection.run_on_commit
            if sids == block and isinstance(c, _OnCommitRelay) and c.schema_name == schema
        ),
        None,
    )
    if relay is None:
        marker = OutboxPending.objects.create(schema_name=schema)
        relay = _OnCommitRelay(schema_name=schema, marker_id=marker.pk)
        transaction.on_commit(relay)
    relay.ids.append(row.pk)
    return row


_TASK_IMPORTS = threading.Lock()


@dataclass
class _Broker:
    """This thread's broker connection for publishing, and whether a publish on it has succeeded."""

    url: str
    conn: Any
    producer: Any
    proven: bool = False


_brokers = threading.local()  # per thread: a broker connection that fails fast when the broker is down


def _broker() -> _Broker:
    """This thread's producer on a connection that tries the broker once, briefly (not for seconds,
    as the shared pool does): a web request's commit is not held up by a broker outage."""
    from baohan.celery import app

    url = app.conf.broker_url
    cached: _Broker | None = getattr(_brokers, "value", None)
    if cached is None or cached.url != url:
        _broker_drop()
        conn = app.connection_for_write(
            connect_timeout=BROKER_CONNECT_SECONDS,
            transport_options={
                "max_retries": 0,
                "socket_connect_timeout": BROKER_CONNECT_SECONDS,
                "socket_timeout": BROKER_SOCKET_SECONDS,
            },
        )
        cached = _brokers.value = _Broker(url=url, conn=conn, producer=app.amqp.Producer(conn))
    return cached


def _broker_drop() -> None:
    cached: _Broker | None = getattr(_brokers, "value", None)
    _brokers.value = None
    if cached is not None:
        try:
            cached.conn.release()
        except Exception as exc:  # noqa: BLE001 - a broken connection is dropped either way
            log.debug("outbox: dropping the broker connection: %s", type(exc).__name__)


def _publish(row: OutboxMessage) -> None:
    task_publish(task=row.task, args=row.args, kwargs=row.kwargs, task_id=f"outbox-{connection.schema_name}-{row.pk}")


def task_publish(
    *,
    task: str,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    task_id: str | None = None,
) -> None:
    """Publish ``task`` now, on this thread's bounded broker connection (one brief try, see the
    module's docstring); raises one of ``BROKER_ERRORS`` when the broker is down or hangs, the task's
    own error (not registered, arguments not serialisable) otherwise."""
    from baohan.celery import app

    if task not in app.tasks:  # a web process: the apps' task modules are imported on first use
        # One thread at a time: a second thread's import returns at once, before the first's has
        # registered the tasks (a threaded server's burst got NotRegistered, a 500).
        with _TASK_IMPORTS:
            try:
                app.loader.import_default_modules()
            except Exception as exc:
                raise OutboxTasksUnavailable(f"importing the task modules: {type(exc).__name__}: {exc}") from exc
    registered = app.tasks[task]
    if _eager():
        registered.apply_async(args=list(args), kwargs=dict(kwargs or {}), task_id=task_id)
        return
    while True:
        broker = _broker()
        try:
            registered.apply_async(
                args=list(args), kwargs=dict(kwargs or {}), task_id=task_id, producer=broker.producer, retry=False
            )
        except BROKER_ERRORS as exc:
            _broker_drop()
            if broker.proven and not isinstance(exc, (TimeoutError, RedisTimeoutError)):
                continue  # a connection that had worked, closed since (a broker restart): one fresh try
            raise  # the broker is down or hangs: the row waits for the sweep
        broker.proven = True
        return


def outbox_relay(*, ids: Sequence[int] | None = None, limit: int = RELAY_BATCH) -> int:
    """Publish this centre's unsent rows (only ``ids`` when given) and delete them; how many went.
    Rows another relay is publishing are skipped (it holds their locks), parked rows too. Stops at
    the first broker error, counting the attempt on that row; a row's own error is counted on it
    (the row parked from the ``PARK_AFTER_TASK_ERRORS``-th) and the relay goes on."""
    sent = 0
    schema = connection.schema_name
    with transaction.atomic():
        rows = _relayable().select_for_update(skip_locked=True).order_by("id")
        if ids is not None:
            rows = rows.filter(pk__in=list(ids))
        for row in list(rows[:limit]):
            try:
                _publish(row)
            except Exception as exc:
                if _eager():
                    raise
                error = f"{type(exc).__name__}: {exc}"[:300]
                if isinstance(exc, (*BROKER_ERRORS, OutboxTasksUnavailable)):
                    OutboxMessage.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, last_error=error)
                    log.warning(
                        "outbox: relay of %s stopped at %s#%s: %s", schema, row.task, row.pk, type(exc).__name__
                    )
                    break
                _task_error_count(row=row, schema=schema, exc=exc, error=error)
                continue
            OutboxMessage.objects.filter(pk=row.pk).delete()
            sent += 1
    return sent


def _task_error_count(*, row: OutboxMessage, schema: str, exc: Exception, error: str) -> None:
    """Count a failure of the row's own on it (it is locked: its count is current); park it from the
    ``PARK_AFTER_TASK_ERRORS``-th on, once it is ``PARK_NOT_BEFORE_SECONDS`` old. The log names the
    error's type only (its text, which may quote the arguments, stays in the row's ``last_error``)."""
    task_errors = row.task_errors + 1
    parked = task_errors >= PARK_AFTER_TASK_ERRORS and row.created_at <= timezone.now() - timedelta(
        seconds=PARK_NOT_BEFORE_SECONDS
    )
    OutboxMessage.objects.filter(pk=row.pk).update(
        attempts=F("attempts") + 1,
        task_errors=task_errors,
        last_error=error,
        parked_at=timezone.now() if parked else None,
    )
    if parked:
        log.error(
            "outbox: parked %s#%s in %s after %d failures, no longer relayed: %s",
            row.task,
            row.pk,
            schema,
            task_errors,
            type(exc).__name__,
        )
    else:
        log.warning(
            "outbox: %s#%s in %s failed (%d so far, parked from %d on): %s",
            row.task,
            row.pk,
            schema,
            task_errors,
            PARK_AFTER_TASK_ERRORS,
            type(exc).__name__,
        )


def outbox_sweep(*, settle_seconds: int = SETTLE_SECONDS) -> dict[str, int]:
    """Relay the centres named by markers older than ``settle_seconds`` (run in ``public``)."""
    from tenants.models import Tenant

    cutoff = timezone.now() - timedelta(seconds=settle_seconds)
    markers: dict[str, list[int]] = defaultdict(list)
    for pk, schema in OutboxPending.objects.filter(created_at__lt=cutoff).values_list("pk", "schema_name")[:5000]:
        markers[schema].append(pk)
    relayed: dict[str, int] = {}
    for schema, marker_ids in markers.items():
        tenant = Tenant.objects.filter(schema_name=schema).first()
        if tenant is None:
            OutboxPending.objects.filter(pk__in=marker_ids).delete()
            continue
        with tenant_context(tenant):
            try:
                relayed[schema] = outbox_relay()
                left = _relayable().exists()
            except Exception as exc:
                if _eager():
                    raise
                log.warning("outbox: sweep of %s failed: %s", schema, type(exc).__name__)
                continue
        if not left:  # only the markers read above: one written meanwhile stays for the next tick
            OutboxPending.objects.filter(pk__in=marker_ids).delete()
    return relayed


@dataclass(frozen=True)
class ParkedRow:
    """A parked outbox row, as an operator sees it."""

    centre: str
    schema_name: str
    id: int
    task: str
    task_errors: int
    last_error: str
    parked_at: Any


class OutboxReleaseRefused(ValueError):
    """Rows asked to be released that this centre does not have parked: nothing was changed."""

    def __init__(self, *, unknown: Sequence[int], not_parked: Sequence[int]) -> None:
        self.unknown = list(unknown)
        self.not_parked = list(not_parked)
        parts = []
        if self.unknown:
            parts.append(f"no such row: {', '.join(map(str, self.unknown))}")
        if self.not_parked:
            parts.append(f"not parked: {', '.join(map(str, self.not_parked))}")
        super().__init__("; ".join(parts))


def outbox_parked_list(*, schema_names: Sequence[str] | None = None) -> list[ParkedRow]:
    """The parked rows of every centre (of ``schema_names`` only, when given), centre by centre.
    Run in ``public``; an operator's look, one query per centre."""
    from tenants.models import Tenant

    tenants = Tenant.objects.exclude(schema_name=get_public_schema_name()).order_by("code")
    if schema_names is not None:
        tenants = tenants.filter(schema_name__in=list(schema_names))
    found: list[ParkedRow] = []
    for tenant in tenants:
        with tenant_context(tenant):
            rows = OutboxMessage.objects.filter(parked_at__isnull=False).order_by("id")
            found.extend(
                ParkedRow(
                    centre=tenant.code,
                    schema_name=tenant.schema_name,
                    id=row.pk,
                    task=row.task,
                    task_errors=row.task_errors,
                    last_error=row.last_error,
                    parked_at=row.parked_at,
                )
                for row in rows
            )
    return found


def outbox_release(*, ids: Sequence[int] | None) -> int:
    """Release this centre's parked rows ``ids`` (every parked row when ``None``): their park and
    their count of errors are cleared and the centre's marker written, so the next sweep relays them
    (as if just written by ``outbox_enqueue`` with the broker down). Refuses with
    ``OutboxReleaseRefused``, changing nothing, when any of ``ids`` is not a parked row of this
    centre. How many rows were released."""
    schema = connection.schema_name
    if schema == get_public_schema_name():
        raise OutboxOutsideCentre("a parked row is released in its centre")
    with transaction.atomic():
        rows = OutboxMessage.objects.select_for_update().order_by("id")
        if ids is None:
            released = list(rows.filter(parked_at__isnull=False).values_list("pk", flat=True))
        else:
            wanted = sorted(set(ids))
            parked = dict(rows.filter(pk__in=wanted).values_list("pk", "parked_at"))
            unknown = [pk for pk in wanted if pk not in parked]
            not_parked = [pk for pk in wanted if pk in parked and parked[pk] is None]
            if unknown or not_parked:
                raise OutboxReleaseRefused(unknown=unknown, not_parked=not_parked)
            released = wanted
        if not released:
            return 0
        OutboxMessage.objects.filter(pk__in=released).update(parked_at=None, task_errors=0)
        OutboxPending.objects.create(schema_name=schema)
    log.info("outbox: released %d parked row(s) in %s: %s", len(released), schema, released)
    return len(released)
