"""A real Celery worker runs each task in the schema of the tenant that sent it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.celery import app
from baohan.embedded import EmbeddedRedis
from baohan.sections.models import Section
from tenants.models import Tenant
from tests.celery_probe import schema_probe

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """One real worker (solo pool) for the module, on its own embedded Redis."""
    redis = EmbeddedRedis(tmp_path_factory.mktemp("celery") / "redis")
    db = connection.settings_dict
    host = db["HOST"] or db["OPTIONS"].get("host", "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{db['USER']}:{db['PASSWORD'] or ''}@/{db['NAME']}?host={host}"
        if host.startswith("/")
        else f"postgresql://{db['USER']}:{db['PASSWORD'] or ''}@{host}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis.url,
        "CELERY_RESULT_BACKEND": redis.url,
        "DJANGO_SETTINGS_MODULE": "baohan.settings.base",
        "PYTHONPATH": os.pathsep.join([str(settings.PLATFORM_DIR), str(settings.ROOT_DIR)]),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "baohan",
            "worker",
            "--pool=solo",
            "--include=tests.celery_probe",
            "--loglevel=WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        env=env,
        cwd=settings.ROOT_DIR,
    )
    saved = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=redis.url, result_backend=redis.url, task_always_eager=False)
    _forget_connections()
    try:
        yield redis.url
    finally:
        app.conf.update(saved)
        _forget_connections()
        process.terminate()
        process.wait(timeout=20)
        redis.stop()


def _forget_connections() -> None:
    """Drop the app's cached broker pool and result backend, made for the settings before."""
    app._pool = None
    app.amqp._producer_pool = None
    app._local.__dict__.pop("backend", None)
    # Eager tasks run by concurrent threads elsewhere in the run (the race tests) can leave
    # Celery's process-wide "inside a task" flag set; with it, ``result.get()`` is refused.
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


def test_tasks_run_in_the_senders_schema(worker: str) -> None:
    xinjiang, benxi = Tenant.objects.get(code="xinjiang"), Tenant.objects.get(code="benxi")
    with tenant_context(xinjiang):
        Section.objects.create(
            code="XJ-CELERY-1",
            name="标段",
            project_type="construction",
            deposit_amount=Decimal("1.00"),
            deposit_deadline="2030-01-01T00:00:00Z",
            opening_time="2030-01-02T00:00:00Z",
        )
        from_xinjiang = schema_probe.delay()
    try:
        with tenant_context(benxi):
            from_benxi = schema_probe.delay()
        # Other tests (the browser walks) commit sections of their own: look for this one only.
        seen_xinjiang, seen_benxi = from_xinjiang.get(timeout=60), from_benxi.get(timeout=60)
        assert seen_xinjiang["schema"] == "xinjiang"
        assert "XJ-CELERY-1" in seen_xinjiang["sections"]
        assert seen_benxi["schema"] == "benxi"
        assert "XJ-CELERY-1" not in seen_benxi["sections"]
    finally:
        with tenant_context(xinjiang):
            Section.objects.filter(code="XJ-CELERY-1").delete()


def test_money_tasks_run_in_the_centre_that_queued_them_and_never_in_public(worker: str) -> None:
    """A statement line waits in Benxi. Matching queued from Xinjiang leaves it alone; queued
    from Benxi it is matched there; queued with no centre the task fails instead of running in
    public; beat's daily fan-out (the safety net of the due index) reaches every centre."""
    from baohan.guarantees.states import Actor
    from baohan.payments.models import StatementImport, StatementLine
    from baohan.payments.services.intake import statement_lines_store
    from baohan.payments.statements import StatementLine as Parsed
    from baohan.payments.tasks import fan_out_all, statements_match_task

    benxi, xinjiang = Tenant.objects.get(code="benxi"), Tenant.objects.get(code="xinjiang")
    parsed = Parsed(
        row=1,
        reference="CELERY-LINE-1",
        booked_at=timezone.now(),
        amount=Decimal("88.00"),
        payer_name="某公司",
        payer_account="6200000000000088",
        payer_bank="",
        remark="无附言",
        raw={},
    )
    with tenant_context(benxi), transaction.atomic():
        statement_lines_store(
            issuer_code="zijin",
            account_number="2100000000000000001",
            lines=[parsed],
            source="command",
            actor=Actor.system(),
        )
        transaction.on_commit(lambda: None)  # nothing queued to run inline: matching is the worker's
    try:

        def status() -> str:
            with tenant_context(benxi):
                return StatementLine.objects.get(reference="CELERY-LINE-1").status

        with tenant_context(xinjiang):
            assert statements_match_task.delay().get(timeout=60) == {}
        connection.set_schema_to_public()
        # Queued on commit by the import itself: the worker may have matched it already.
        with tenant_context(benxi):
            statements_match_task.delay().get(timeout=60)
        assert status() == "unmatched"

        connection.set_schema_to_public()
        with pytest.raises(Exception, match="without a centre"):
            statements_match_task.delay().get(timeout=60)
        assert (
            fan_out_all.delay().get(timeout=60)
            == Tenant.objects.filter(is_active=True).exclude(schema_name="public").count()
        )
    finally:
        with tenant_context(benxi):
            StatementLine.objects.filter(reference="CELERY-LINE-1").delete()
            StatementImport.objects.filter(lines__isnull=True, source="command").delete()
