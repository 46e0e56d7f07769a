"""Bulk operations over every centre: re-validate each pack with this engine, migrate each schema.

Each runs centre by centre, writing its progress and each centre's result as it goes, so a page
(or the command line) can show how far it has got; one centre's failure does not stop the rest.

An operation is queued on commit, with one brief try of the broker (``task_publish``): a broker
that is down is logged and the request still succeeds. The console lives in the public schema, so
the centres' outbox is not its own; instead the sweep ``bulk_operations_recover`` (beat, every
minute) queues again an operation still queued after ``REQUEUE_AFTER_SECONDS``, and fails one
running with no progress for ``STALE_AFTER_SECONDS`` (its worker died), so that the console, which
runs one operation at a time, is not blocked for ever. A worker claims the operation (queued →
running, in one UPDATE) before doing anything: an operation queued twice runs once; a worker whose
operation was failed by the sweep meanwhile stops at its next centre.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.management import call_command
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from baohan.console.audit import console_action_record
from baohan.console.models import BulkOperation
from baohan.guarantees.errors import Conflict
from baohan.rulepacks.loader import RulePackError, rulepack_digest, rulepack_load_text
from tenants.models import Tenant

log = logging.getLogger(__name__)

TASK = "console.bulk_operation"
REQUEUE_AFTER_SECONDS = 180  # queued this long and not started: its publish was lost, queue it again
STALE_AFTER_SECONDS = 1800  # running with no centre done for this long: its worker is gone


@dataclass(frozen=True)
class CentreResult:
    code: str
    ok: bool
    message: str


def pack_revalidate(*, tenant: Tenant) -> CentreResult:
    """Does the centre's live pack still load under this engine, and read the same?"""
    version = tenant.current_rule_pack
    if version is None:
        return CentreResult(tenant.code, False, "没有生效的规则包")
    try:
        pack = rulepack_load_text(version.source_text, file=version.source_name or f"{tenant.code}.yaml")
    except RulePackError as exc:
        return CentreResult(tenant.code, False, "；".join(str(p) for p in exc.problems))
    if rulepack_digest(pack) != version.digest:
        return CentreResult(tenant.code, True, f"V{version.number} 有效（本版本引擎补充了新的默认值）")
    return CentreResult(tenant.code, True, f"V{version.number} 有效")


def schema_migrate(*, tenant: Tenant) -> CentreResult:
    out = io.StringIO()
    try:
        call_command("migrate_schemas", schema_name=tenant.schema_name, interactive=False, verbosity=1, stdout=out)
    except Exception as exc:  # noqa: BLE001 - one centre's failure is reported, the others go on
        return CentreResult(tenant.code, False, f"{type(exc).__name__}: {exc}")
    applied = out.getvalue().count("Applying ")
    return CentreResult(tenant.code, True, f"已应用 {applied} 个迁移" if applied else "已是最新")


STEPS: dict[str, Callable[..., CentreResult]] = {
    BulkOperation.Kind.REVALIDATE: pack_revalidate,
    BulkOperation.Kind.MIGRATE: schema_migrate,
}


def bulk_operation_start(*, kind: str, actor: User | AnonymousUser | None) -> BulkOperation:
    """Record the operation and queue it; the page follows its progress."""
    if kind not in STEPS:
        raise ValueError(f"unknown bulk operation {kind!r}")
    if BulkOperation.objects.filter(state__in=[BulkOperation.State.QUEUED, BulkOperation.State.RUNNING]).exists():
        raise Conflict("bulk_running", "已有批量操作在进行，请等待其完成")
    op = BulkOperation.objects.create(
        kind=kind,
        started_by=actor if isinstance(actor, User) else None,
        total=Tenant.objects.exclude(schema_name="public").count(),
    )
    console_action_record(actor=actor, action=f"bulk_{kind}", detail={"operation": op.pk})
    transaction.on_commit(lambda: bulk_operation_publish(op_id=op.pk))
    return op


def bulk_operation_publish(*, op_id: int) -> bool:
    """Queue the operation's task, trying the broker once, briefly. A failure is logged, not raised
    (the operation stays queued and ``bulk_operations_recover`` queues it again); whether it went."""
    from baohan.outbox.services import task_publish

    try:
        task_publish(task=TASK, args=[op_id])
    except Exception as exc:
        from baohan.celery import app

        if app.conf.task_always_eager:
            raise  # tasks run inline (tests, no broker): their errors are the caller's
        log.warning("console: bulk operation %s not queued, the sweep tries again: %s", op_id, type(exc).__name__)
        return False
    return True


def bulk_operation_run(*, op_id: int, progress: Callable[[BulkOperation, CentreResult], None] | None = None) -> bool:
    """Do the work, centre by centre, saving progress after each. The operation is claimed first
    (queued → running, one UPDATE): one already claimed, finished or failed is not run (a task queued
    twice, a delivery repeated); whether it ran."""
    op = BulkOperation.objects.get(pk=op_id)
    step = STEPS[op.kind]
    tenants = list(Tenant.objects.exclude(schema_name="public").order_by("code"))
    claimed = BulkOperation.objects.filter(pk=op.pk, state=BulkOperation.State.QUEUED).update(
        state=BulkOperation.State.RUNNING, total=len(tenants), updated_at=timezone.now()
    )
    if not claimed:
        log.info("console: bulk operation %s is %s, not run again", op.pk, op.state)
        return False
    failed = False
    try:
        failed = _run(op, step=step, tenants=tenants, progress=progress)
    except Exception:
        # Whatever stopped the run, the operation does not stay "running" for ever.
        _running(op.pk).update(state=BulkOperation.State.FAILED, finished_at=timezone.now(), updated_at=timezone.now())
        raise
    _running(op.pk).update(
        state=BulkOperation.State.FAILED if failed else BulkOperation.State.DONE,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return True


def _running(op_id: int) -> Any:
    """The operation while it is still this worker's (the sweep may have failed it meanwhile)."""
    return BulkOperation.objects.filter(pk=op_id, state=BulkOperation.State.RUNNING)


@dataclass(frozen=True)
class Recovered:
    requeued: list[int]
    failed: list[int]


def bulk_operations_recover(
    *, requeue_after_seconds: int = REQUEUE_AFTER_SECONDS, stale_after_seconds: int = STALE_AFTER_SECONDS
) -> Recovered:
    """The sweep (beat, public schema): queue again each operation queued ``requeue_after_seconds``
    ago or more and still not started (its publish was lost: the broker was down); fail each one
    running with no progress for ``stale_after_seconds`` (its worker died), saying so in its results.
    An idle console costs one query."""
    now = timezone.now()
    requeue_before = now - timedelta(seconds=requeue_after_seconds)
    stale_before = now - timedelta(seconds=stale_after_seconds)
    due = list(
        BulkOperation.objects.filter(
            Q(state=BulkOperation.State.QUEUED, updated_at__lte=requeue_before)
            | Q(state=BulkOperation.State.RUNNING, updated_at__lte=stale_before)
        )
        .order_by("id")
        .values_list("pk", "state")
    )
    recovered = Recovered(requeued=[], failed=[])
    for pk, state in due:
        if state == BulkOperation.State.RUNNING:
            if _stale_fail(op_id=pk, stale_before=stale_before, stale_after_seconds=stale_after_seconds):
                recovered.failed.append(pk)
            continue
        # Marked first (still queued, not claimed meanwhile), so the next tick waits its turn again.
        if BulkOperation.objects.filter(pk=pk, state=BulkOperation.State.QUEUED, updated_at__lte=requeue_before).update(
            updated_at=timezone.now()
        ):
            log.warning("console: bulk operation %s still queued, queued again", pk)
            bulk_operation_publish(op_id=pk)
            recovered.requeued.append(pk)
    return recovered


def _stale_fail(*, op_id: int, stale_before: datetime, stale_after_seconds: int) -> bool:
    with transaction.atomic():
        op = (
            BulkOperation.objects.select_for_update()
            .filter(pk=op_id, state=BulkOperation.State.RUNNING, updated_at__lte=stale_before)
            .first()
        )
        if op is None:  # it moved on meanwhile
            return False
        message = _("执行批量操作的进程已停止：%(minutes)s 分钟没有进展，已标记为失败，可重新开始。") % {
            "minutes": stale_after_seconds // 60
        }
        results = [*op.results, {"code": "", "ok": False, "message": message}]
        BulkOperation.objects.filter(pk=op.pk).update(
            state=BulkOperation.State.FAILED, results=results, finished_at=timezone.now(), updated_at=timezone.now()
        )
    log.error("console: bulk operation %s had no progress for %d s, marked failed", op_id, stale_after_seconds)
    return True


def _run(
    op: BulkOperation,
    *,
    step: Callable[..., CentreResult],
    tenants: list[Tenant],
    progress: Callable[[BulkOperation, CentreResult], None] | None,
) -> bool:
    failed = False
    for tenant in tenants:
        result = step(tenant=tenant)
        failed = failed or not result.ok
        entry = {"code": result.code, "ok": result.ok, "message": result.message}
        op.results = [*op.results, entry]
        if not _running(op.pk).update(done=F("done") + 1, results=op.results, updated_at=timezone.now()):
            # The sweep failed it (no progress for too long): another may have started since.
            log.warning("console: bulk operation %s was failed meanwhile, stopped at %s", op.pk, tenant.code)
            return True
        op.refresh_from_db()
        if progress is not None:
            progress(op, result)
    if op.kind == BulkOperation.Kind.MIGRATE:
        from tenants.cloning import template_refresh

        template_refresh(verbosity=0)  # new centres are copied from an up-to-date template
    return failed
