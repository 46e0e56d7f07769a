"""A real Celery worker runs each task in the schema of the tenant that sent it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from baohan.celery import app
from baohan.embedded import EmbeddedRedis
from baohan.sections.models import Section
from tenants.models import Tenant
from tests.celery_probe import schema_probe

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[str]:
    redis = EmbeddedRedis(tmp_path / "redis")
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
    try:
        yield redis.url
    finally:
        app.conf.update(saved)
        process.terminate()
        process.wait(timeout=20)
        redis.stop()


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
        assert from_xinjiang.get(timeout=60) == {"schema": "xinjiang", "sections": ["XJ-CELERY-1"]}
        assert from_benxi.get(timeout=60) == {"schema": "benxi", "sections": []}
    finally:
        with tenant_context(xinjiang):
            Section.objects.filter(code="XJ-CELERY-1").delete()
