"""The shared engine of the platform."""

from baohan.celery import app as celery_app

__all__ = ["celery_app"]
