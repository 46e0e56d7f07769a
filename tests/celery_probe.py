"""A task the real-worker test sends; the worker loads it with ``--include``."""

from __future__ import annotations

from django.db import connection

from baohan.celery import app
from baohan.sections.models import Section


@app.task(name="tests.schema_probe")
def schema_probe() -> dict[str, object]:
    return {"schema": connection.schema_name, "sections": sorted(Section.objects.values_list("code", flat=True))}
