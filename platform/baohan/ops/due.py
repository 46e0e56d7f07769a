"""Periodic work scheduled only for the centres that have something due.

A centre's periodic jobs (``payments.deadlines``, ``payments.statements_match``, ...) used to be
queued by beat in every centre on every tick: work proportional to the number of centres, due or
not. Now a public index, ``CentreDue`` (one row per centre and job), says when each centre next
needs a job, and is kept by the centres' own writes:

* a service that creates work with a time attached marks the job due at that time
  (``centre_due_mark``), in its own transaction: an order's payment deadline, a statement line
  to match, an online refund to send or retry, an issued order's policy, an uploaded file;
* a job that ran computes the centre's next due time from the centre's data and marks it
  (``centre_due_run``), never sooner than the job's old beat interval; a job that failed is
  marked again a little later;
* beat's tick (``payments.fan_out``) deletes the rows due and returns their centres in one
  statement (``centre_due_claim``), and queues the job in those centres only. A tick with nothing
  due is one indexed statement, whatever the number of centres; a centre never marked costs
  nothing.

The safety net is ``payments.fan_out_all`` (once a day): every active centre recomputes the next
due time of every periodic job from its data (``centre_due_refresh``), so a mark that was missed
(a write point forgotten, a row lost) delays the work by at most a day.

Marks merge: ``due_at`` only moves earlier (``LEAST``), so many writes of one centre leave one
row, and a mark already as early as asked takes no lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from tenants.db import connection

log = logging.getLogger(__name__)

T = TypeVar("T")

FAN_OUT_TASK = "payments.fan_out"
CLAIM_BATCH = 500  # centres claimed per statement; a tick claims batches until none is left
RETRY_AFTER = timedelta(seconds=60)  # a job that failed, or could not be queued, is due again this much later


class CentreDueOutsideCentre(RuntimeError):
    """A job was marked due without a centre (marks name the centre of the connection)."""


@dataclass(frozen=True)
class DueJob:
    """How a periodic job finds its next due time: ``next_due`` is the dotted path of a function
    ``(*, now: datetime) -> datetime | None`` run in the centre (None: nothing pending); after a
    run the job is never due sooner than ``min_gap`` (its old beat interval)."""

    next_due: str
    min_gap: timedelta


JOBS: dict[str, DueJob] = {
    "payments.deadlines": DueJob("baohan.payments.services.deadlines.deadlines_next_due", timedelta(0)),
    "payments.statements_match": DueJob(
        "baohan.payments.services.intake.statements_match_next_due", timedelta(seconds=60)
    ),
    "payments.online_payouts_send": DueJob(
        "baohan.payments.services.online.online_payouts_next_due", timedelta(seconds=300)
    ),
    "documents.policies_backfill": DueJob("baohan.documents.services.policies_next_due", timedelta(seconds=600)),
    "guarantees.uploads_unattached_sweep": DueJob(
        "baohan.guarantees.services.uploads.uploads_next_due", timedelta(seconds=3600)
    ),
}


def _table() -> str:
    return f"{db_connection.ops.quote_name(get_public_schema_name())}.ops_centredue"


def _mark(*, schema_name: str, job: str, at: datetime) -> None:
    # One statement. The row is written (and locked until commit) only when it moves earlier or is
    # new: a centre's many writes that find the job already due as early take no lock.
    table = _table()
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} AS d (schema_name, job, due_at)
                SELECT %s::varchar, %s::varchar, %s::timestamptz
                 WHERE NOT EXISTS (SELECT 1 FROM {table} e
                                    WHERE e.schema_name = %s AND e.job = %s AND e.due_at <= %s::timestamptz)
                ON CONFLICT (schema_name, job) DO UPDATE SET due_at = LEAST(d.due_at, EXCLUDED.due_at)""",
            [schema_name, job, at, schema_name, job, at],
        )


def centre_due_mark(*, job: str, at: datetime | None = None) -> None:
    """The current centre needs ``job`` at ``at`` (now when not given), or sooner if already marked so.
    Written in the caller's transaction: rolled back with it."""
    schema = connection.schema_name
    if schema == get_public_schema_name():
        raise CentreDueOutsideCentre(f"{job} was marked due without a centre")
    _mark(schema_name=schema, job=job, at=at or timezone.now())


def centre_due_claim(*, job: str, now: datetime, limit: int) -> list[str]:
    """Take (delete) up to ``limit`` of the centres ``job`` is due in at ``now``; their schema names.
    Rows another claim holds are skipped: two claims side by side never return the same centre."""
    table = _table()
    # The rows are picked once, in a materialized CTE: a subquery under ``IN`` may be run again by
    # the plan, and with SKIP LOCKED each run picks other rows (more than ``limit`` taken).
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"""WITH picked AS MATERIALIZED (
                    SELECT id FROM {table} WHERE job = %s AND due_at <= %s::timestamptz
                     ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED)
                DELETE FROM {table} AS due USING picked WHERE due.id = picked.id
                RETURNING due.schema_name""",
            [job, now, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def _next_due_of(job: str) -> Callable[..., datetime | None] | None:
    spec = JOBS.get(job)
    if spec is None:
        return None
    module, _, name = spec.next_due.rpartition(".")
    found: Callable[..., datetime | None] = getattr(import_module(module), name)
    return found


def centre_due_next(*, job: str, now: datetime | None = None) -> datetime | None:
    """When ``job`` is next needed in the current centre, from its data (None: nothing pending;
    also None for a job with no ``JOBS`` entry, which its own writes mark)."""
    find = _next_due_of(job)
    return find(now=now or timezone.now()) if find is not None else None


def centre_due_run(*, job: str, run: Callable[[], T]) -> T:
    """Run a centre's periodic ``job``, then mark when it is next due in this centre (not sooner
    than its ``min_gap``). A run that raises is marked due again after ``RETRY_AFTER``."""
    spec = JOBS.get(job)
    gap = spec.min_gap if spec is not None else timedelta(0)
    started = timezone.now()
    try:
        result = run()
    except Exception:
        try:
            centre_due_mark(job=job, at=started + max(gap, RETRY_AFTER))
        except Exception as exc:  # noqa: BLE001 - the database may be what failed: the daily refresh remains
            log.warning("due: %s could not be marked again after failing: %s", job, type(exc).__name__)
        raise
    now = timezone.now()
    at = centre_due_next(job=job, now=now)
    if at is not None:
        centre_due_mark(job=job, at=max(at, started + gap))
    return result


def _task(name: str) -> Any:
    from baohan.celery import app

    if name not in app.tasks:  # a process that has not imported the apps' task modules yet
        app.loader.import_default_modules()
    return app.tasks[name]  # a name no app registers raises NotRegistered


def centre_due_fan_out(*, job: str, now: datetime | None = None) -> int:
    """Queue the tenant task ``job`` in each centre where it is due (run by beat, in ``public``);
    how many were queued. Costs one statement when nothing is due, and then per batch of centres
    due one statement for the centres' rows."""
    from baohan.celery import app
    from tenants.models import Tenant

    task = _task(job)
    now = now or timezone.now()
    queued = 0
    failure: Exception | None = None
    while True:
        schemas = centre_due_claim(job=job, now=now, limit=CLAIM_BATCH)
        if not schemas:
            break
        # A centre deactivated or removed since its mark: its row went with the claim.
        centres = {t.schema_name: t for t in Tenant.objects.filter(schema_name__in=schemas, is_active=True)}
        for schema in schemas:
            tenant = centres.get(schema)
            if tenant is None:
                continue
            try:
                with tenant_context(tenant):
                    task.delay()
            except Exception as exc:  # noqa: BLE001 - any failure: the centre is marked again, the rest go on
                # Not queued (the broker refused; inline, the task failed and marked itself): the
                # centre is due again shortly.
                _mark(schema_name=schema, job=job, at=now + RETRY_AFTER)
                log.warning("due: %s not queued in %s: %s", job, schema, type(exc).__name__)
                failure = failure or exc
                continue
            queued += 1
        if len(schemas) < CLAIM_BATCH:
            break
    if failure is not None and app.conf.task_always_eager:
        raise failure  # tasks run inline (tests, no broker): their errors are the caller's
    return queued


def periodic_jobs() -> list[str]:
    """The jobs beat fans out (``payments.fan_out`` entries of ``CELERY_BEAT_SCHEDULE``)."""
    jobs = []
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    for entry in schedule.values():
        if entry.get("task") == FAN_OUT_TASK and entry.get("args"):
            jobs.append(str(entry["args"][0]))
    return sorted(set(jobs))


def centre_due_refresh(*, now: datetime | None = None) -> dict[str, str]:
    """The daily safety net, run in a centre: mark every periodic job at its next due time from the
    centre's data; a job with no ``JOBS`` entry (whose writes mark it) is marked due now. What was
    marked, by job (ISO time)."""
    now = now or timezone.now()
    marked: dict[str, str] = {}
    for job in periodic_jobs():
        at = centre_due_next(job=job, now=now) if job in JOBS else now
        if at is not None:
            centre_due_mark(job=job, at=at)
            marked[job] = at.isoformat()
    return marked
