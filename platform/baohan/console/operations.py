"""Bulk operations over every centre: re-validate each pack with this engine, migrate each schema.

Each runs centre by centre, writing its progress and each centre's result as it goes, so a page
(or the command line) can show how far it has got; one centre's failure does not stop the rest.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.core.management import call_command
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from baohan.console.audit import console_action_record
from baohan.console.models import BulkOperation
from baohan.guarantees.errors import Conflict
from baohan.rulepacks.loader import RulePackError, rulepack_digest, rulepack_load_text
from tenants.models import Tenant


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
    from baohan.console.tasks import bulk_operation_task

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
    transaction.on_commit(lambda: bulk_operation_task.delay(op.pk))
    return op


def bulk_operation_run(*, op_id: int, progress: Callable[[BulkOperation, CentreResult], None] | None = None) -> None:
    """Do the work, centre by centre, saving progress after each."""
    op = BulkOperation.objects.get(pk=op_id)
    step = STEPS[op.kind]
    tenants = list(Tenant.objects.exclude(schema_name="public").order_by("code"))
    BulkOperation.objects.filter(pk=op.pk).update(state=BulkOperation.State.RUNNING, total=len(tenants))
    failed = False
    try:
        failed = _run(op, step=step, tenants=tenants, progress=progress)
    except Exception:
        # Whatever stopped the run, the operation does not stay "running" for ever.
        BulkOperation.objects.filter(pk=op.pk).update(state=BulkOperation.State.FAILED, finished_at=timezone.now())
        raise
    BulkOperation.objects.filter(pk=op.pk).update(
        state=BulkOperation.State.FAILED if failed else BulkOperation.State.DONE, finished_at=timezone.now()
    )


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
        BulkOperation.objects.filter(pk=op.pk).update(done=F("done") + 1, results=op.results)
        op.refresh_from_db()
        if progress is not None:
            progress(op, result)
    if op.kind == BulkOperation.Kind.MIGRATE:
        from tenants.cloning import template_refresh

        template_refresh(verbosity=0)  # new centres are copied from an up-to-date template
    return failed
