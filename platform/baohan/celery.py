"""Celery app. Tasks carry the tenant's schema (tenant-schemas-celery) and run in it; a task
made with ``tenant_task`` refuses to run without one (it would otherwise run in ``public``)."""

import os
from typing import Any

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baohan.settings.base")

app = CeleryApp("baohan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class TenantMissing(RuntimeError):
    """A centre's task was queued without a centre."""


class TenantTask(app.Task):  # type: ignore[name-defined]
    """A task that must run in a centre's schema."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from django_tenants.utils import get_public_schema_name

        from tenants.db import connection

        if connection.schema_name == get_public_schema_name():
            raise TenantMissing(f"{self.name} was queued without a centre; it does not run in the public schema")
        return super().__call__(*args, **kwargs)


def tenant_task(name: str, **options: Any) -> Any:  # typed as Any: celery has no stubs
    return app.task(name=name, base=TenantTask, **options)


# Task outcomes counted, task ids in log lines, a worker's /metrics (baohan/ops/tasks_observed.py).
from baohan.ops import tasks_observed  # noqa: E402, F401
