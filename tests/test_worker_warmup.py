"""A new gunicorn worker readies itself before its first request (gunicorn's ``post_worker_init``):
every URL pattern resolved, ``/readyz`` and one centre's ``/api/v1/site`` answered through the
application itself; a warm-up that fails never stops the worker."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.wsgi import get_wsgi_application
from django.db import connection

from baohan.ops import gunicorn_conf
from baohan.ops.warmup import process_warm, process_warm_safely

pytestmark = pytest.mark.usefixtures("committed_db")


def test_the_warm_up_answers_readyz_and_a_centres_site_and_leaves_the_connection_closed() -> None:
    done = process_warm(get_wsgi_application())
    assert done["/readyz"] == "200 OK"
    assert done["/api/v1/site"] == "200 OK"
    assert done["baohan.urls_tenant"] == done["baohan.urls_public"] == "resolved"
    assert done["storage"]  # the storage client made (its class named)
    assert connection.connection is None  # handed back: the worker starts with nothing checked out
    assert connection.schema_name == "public"  # type: ignore[attr-defined]


def test_a_failing_warm_up_is_logged_and_the_worker_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("the database is not there yet")

    with caplog.at_level(logging.WARNING, logger="baohan.ops.warmup"):
        process_warm_safely(broken)
    assert any("warm-up failed" in record.getMessage() for record in caplog.records)


def test_gunicorn_runs_the_warm_up_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr("baohan.ops.warmup.process_warm_safely", calls.append)

    class Worker:
        wsgi = object()

    gunicorn_conf.post_worker_init(Worker())
    assert calls == [Worker.wsgi]
    monkeypatch.setenv("GUNICORN_WARMUP", "0")
    gunicorn_conf.post_worker_init(Worker())
    assert calls == [Worker.wsgi]
    assert gunicorn_conf.max_requests_jitter * 2 == gunicorn_conf.max_requests >= 10_000
