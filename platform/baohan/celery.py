"""Celery app. Tasks carry the tenant's schema (tenant-schemas-celery) and run in it."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baohan.settings.base")

app = CeleryApp("baohan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
