"""Production settings and operations: ``check --deploy`` is clean, secrets have no defaults, the
image's ``collectstatic`` step works, health endpoints answer on any host, metrics carry view and
tenant, and log lines are JSON with the request id and the tenant.

Production settings run in subprocesses (they are read once per process); the middleware they
share with development is also exercised in-process through the test client.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context
from prometheus_client import REGISTRY

from baohan.celery import TenantMissing
from baohan.ops.logs import ContextFilter, JsonFormatter
from tenants.models import Tenant
from tests.celery_probe import schema_probe
from tests.conftest import host_client

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# Looks like a real key: 50+ characters, many distinct ones, not "django-insecure-".
FAKE_SECRET_KEY = "k9#Qz!x2LmP0vR7tY4wE6uI8oA1sD3fG5hJ7kL9zX2cV4bN6mQ8wE0rT2yU4iO6pA"
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "baohan.settings.production",
    "DJANGO_SECRET_KEY": FAKE_SECRET_KEY,
    "DJANGO_ALLOWED_HOSTS": ".example.gov.cn",
    "PLATFORM_HOSTS": "baohan.example.gov.cn",
    "DATABASE_URL": "postgresql://baohan:not-a-password@db.invalid:5432/baohan",
    "REDIS_URL": "redis://127.0.0.1:9/0",
    "AWS_STORAGE_BUCKET_NAME": "baohan-documents",
    "BAOHAN_FIELD_KEYS": "bm90LXRoZS1kZXYta2V5LXByb2R1Y3Rpb24tdGVzdCE=",  # not the published development key
    "BAOHAN_INDEX_KEY": "an-index-key-for-the-test",
}
# Variables of the test process that production settings must not inherit.
# What the test run itself may have set (the browser tests allow async-unsafe calls in their process):
# a production process never inherits it.
_SCRUB = {
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY_FALLBACKS",
    "BAOHAN_METRICS_PORT",
    "BAOHAN_METRICS_TOKEN",
    "LOG_LEVEL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB and k not in PRODUCTION_ENV}
    env.update(PRODUCTION_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "platform"), str(ROOT)])
    env.update(overrides)
    return {k: v for k, v in env.items() if v != ""}


def run(argv: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


# --- settings -----------------------------------------------------------------------------------


def test_check_deploy_reports_no_issue() -> None:
    result = run([PYTHON, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "missing",
    [("DJANGO_SECRET_KEY",), ("DATABASE_URL",), ("BAOHAN_FIELD_KEYS", "BAOHAN_INDEX_KEY", "REDIS_URL")],
)
def test_a_missing_secret_stops_the_process_naming_it(missing: tuple[str, ...]) -> None:
    result = run([PYTHON, "manage.py", "check"], production_env(**dict.fromkeys(missing, "")))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: production settings need")
    assert all(name in last for name in missing), last


def test_debug_is_refused_in_production() -> None:
    result = run([PYTHON, "manage.py", "check"], production_env(DJANGO_DEBUG="1"))
    assert result.returncode != 0
    assert "DJANGO_DEBUG is on" in result.stderr


# --- the image's collectstatic step (Dockerfile) ----------------------------------------------------


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the Dockerfile runs: ``python -m django collectstatic`` with the build settings."""
    root = tmp_path_factory.mktemp("static")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(root),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "baohan.settings.build",
        "DJANGO_STATIC_ROOT": str(root),
    }
    result = run([PYTHON, "-m", "django", "collectstatic", "--noinput"], env, timeout=300)
    assert result.returncode == 0, result.stderr
    return root


def test_collectstatic_builds_a_manifest_with_compressed_theme_files(collected_static: Path) -> None:
    manifest = json.loads((collected_static / "staticfiles.json").read_text())["paths"]
    themed = [name for name in manifest if name.startswith("themes/base/")]
    assert themed, "the base theme's static files were not collected"
    hashed = collected_static / manifest[themed[0]]
    assert hashed.is_file()
    assert hashed.name != Path(themed[0]).name  # a content hash in the name
    assert (collected_static / "admin" / "css" / "base.css.gz").is_file()


def test_build_settings_refuse_anything_but_collectstatic() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)])}
    env["DJANGO_SETTINGS_MODULE"] = "baohan.settings.build"
    result = run([PYTHON, "-m", "django", "check"], env)
    assert result.returncode != 0
    assert "only for collectstatic" in result.stderr


# --- a production process end to end, against the test database ------------------------------------

E2E_SCRIPT = r"""
import json
import django

django.setup()
from django.test import Client

client = Client()
pod = {"HTTP_HOST": "10.1.2.3:8000"}
https = {"HTTP_X_FORWARDED_PROTO": "https"}
out = {}
for path in ("/healthz", "/readyz"):
    response = client.get(path, **pod)
    out[path] = [response.status_code, response.json()]
response = client.get("/api/v1/site", HTTP_HOST="benxi.localhost", HTTP_X_REQUEST_ID="req-e2e-0001", **https)
out["site"] = [response.status_code, response["X-Request-ID"], response.get("Strict-Transport-Security")]
response = client.get("/no-such-page", HTTP_HOST="benxi.localhost", HTTP_X_REQUEST_ID="req-e2e-0002", **https)
out["missing"] = [response.status_code]
response = client.get("/api/v1/site", HTTP_HOST="benxi.localhost")
out["plain_http"] = [response.status_code, response.get("Location")]
out["metrics_on_app_port"] = [client.get("/metrics", **pod).status_code]
response = client.get("/metrics", HTTP_HOST="10.1.2.3:9100", SERVER_PORT="9100")
out["metrics"] = [response.status_code, response.content.decode()]
response = client.get(STATIC_URL, HTTP_HOST="benxi.localhost", **https)
out["static"] = [response.status_code, response.get("Cache-Control")]
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def production_run(
    django_db_setup: None, django_db_blocker: Any, collected_static: Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One production-settings process (JSON logs on stdout) serving a few requests through
    Django's test client, on the test database (the centres onboarded for the run)."""
    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
    url = urlsplit(os.environ["DATABASE_URL"])
    database_url = urlunsplit((url.scheme, url.netloc, f"/{name}", url.query, url.fragment))
    manifest = json.loads((collected_static / "staticfiles.json").read_text())["paths"]
    static_url = "/static/" + manifest["admin/css/base.css"]
    env = production_env(
        DATABASE_URL=database_url,
        DJANGO_ALLOWED_HOSTS=".localhost",
        DJANGO_STATIC_ROOT=str(collected_static),
        LOG_LEVEL="INFO",
    )
    result = run([PYTHON, "-c", E2E_SCRIPT.replace("STATIC_URL", repr(static_url))], env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    outcome = json.loads(next(line for line in lines if line.startswith("RESULT "))[len("RESULT ") :])
    logs = [json.loads(line) for line in lines if line.startswith("{")]
    return outcome, logs


def test_health_endpoints_answer_on_any_host_in_production(production_run: Any) -> None:
    outcome, _ = production_run
    assert outcome["/healthz"] == [200, {"status": "ok"}]
    assert outcome["/readyz"] == [200, {"status": "ok", "checks": {"database": "ok"}}]


def test_production_serves_https_only_with_hsts(production_run: Any) -> None:
    outcome, _ = production_run
    status, request_id, hsts = outcome["site"]
    assert (status, request_id) == (200, "req-e2e-0001")
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert outcome["plain_http"] == [301, "https://benxi.localhost/api/v1/site"]


def test_production_logs_are_json_with_request_id_and_tenant(production_run: Any) -> None:
    _, logs = production_run
    access = [line for line in logs if line["logger"] == "baohan.access"]
    site = next(line for line in access if line["request_id"] == "req-e2e-0001")
    assert site["tenant"] == "benxi"
    assert (site["method"], site["path"], site["status"], site["view"]) == ("GET", "/api/v1/site", 200, "api-site")
    assert isinstance(site["duration_ms"], float)
    # Django's own line for the 404, written after the middleware returned, carries both too.
    not_found = next(line for line in logs if line["logger"] == "django.request")
    assert not_found["message"] == "Not Found: /no-such-page"
    assert (not_found["request_id"], not_found["tenant"], not_found["level"]) == ("req-e2e-0002", "benxi", "WARNING")
    assert not_found["status_code"] == 404
    assert "request" not in not_found  # Django's request object (its repr has the query string) is left out
    assert all({"time", "level", "logger", "message", "request_id", "tenant"} <= line.keys() for line in logs)


def test_production_metrics_only_on_the_metrics_port(production_run: Any) -> None:
    outcome, _ = production_run
    assert outcome["metrics_on_app_port"] == [404]
    status, text = outcome["metrics"]
    assert status == 200
    assert 'baohan_http_request_duration_seconds_count{tenant="benxi",view="api-site"} 1.0' in text


def test_production_serves_collected_static_files_with_whitenoise(production_run: Any) -> None:
    outcome, _ = production_run
    status, cache_control = outcome["static"]
    assert status == 200
    assert cache_control == "max-age=315360000, public, immutable"  # a hashed name: cached for ever


# --- the shared middleware, in-process (development and test settings use it too) ----------------------


@pytest.mark.django_db
def test_healthz_needs_no_tenant_and_no_database(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = host_client("10.0.0.7:8000").get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database_on_any_host() -> None:
    response = host_client("nowhere.invalid").get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "checks": {"database": "ok"}})
    with mock.patch("baohan.ops.middleware.connection.cursor", side_effect=RuntimeError("db down")):
        response = host_client("nowhere.invalid").get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "error: RuntimeError"}}


@pytest.mark.django_db
def test_readyz_can_check_redis_too() -> None:
    with override_settings(BAOHAN_READYZ_CHECKS=["database", "redis"], CELERY_BROKER_URL="redis://127.0.0.1:9/0"):
        response = host_client("nowhere.invalid").get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["redis"].startswith("error: ")


@pytest.mark.django_db
def test_an_incoming_request_id_is_kept_and_a_bad_one_replaced() -> None:
    client = host_client("benxi.localhost")
    assert client.get("/api/v1/site", HTTP_X_REQUEST_ID="abc-123.def")["X-Request-ID"] == "abc-123.def"
    replaced = client.get("/api/v1/site", HTTP_X_REQUEST_ID="bad id\nforged log line")["X-Request-ID"]
    assert len(replaced) == 32
    assert replaced.isalnum()


@pytest.mark.django_db
def test_log_lines_carry_the_request_id_and_the_tenant() -> None:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    request_logger = logging.getLogger("django.request")
    request_logger.addHandler(handler)
    try:
        host_client("xuancheng.localhost").get("/no-such-page", HTTP_X_REQUEST_ID="req-inproc-1")
    finally:
        request_logger.removeHandler(handler)
    line = json.loads(next(text for text in lines if "Not Found" in text))
    assert (line["request_id"], line["tenant"], line["logger"]) == ("req-inproc-1", "xuancheng", "django.request")


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_metrics_expose_latency_by_view_and_tenant() -> None:
    labels = {"view": "api-site", "tenant": "xinjiang"}
    before = _sample("baohan_http_request_duration_seconds_count", labels)
    assert host_client("xinjiang.localhost").get("/api/v1/site").status_code == 200
    assert _sample("baohan_http_request_duration_seconds_count", labels) == before + 1
    host_client("nowhere.invalid").get("/some/random/path/12345")
    text = host_client("10.0.0.7:8000").get("/metrics").content.decode()
    assert 'baohan_http_request_duration_seconds_bucket{le="0.005",tenant="xinjiang",view="api-site"}' in text
    # An unknown host and an unknown path add no label value of their own: bounded cardinality.
    assert "/some/random/path" not in text
    assert 'tenant="-",view="<unmatched>"' in text
    assert 'baohan_http_responses_total{status="2xx",tenant="xinjiang"}' in text


@pytest.mark.django_db
def test_metrics_answer_only_on_their_port_and_with_the_token() -> None:
    with override_settings(BAOHAN_METRICS_PORT="9100", BAOHAN_METRICS_TOKEN="scrape-token"):
        assert host_client("10.0.0.7:8000").get("/metrics").status_code == 404  # the app's own port
        metrics_port = host_client("10.0.0.7:9100")
        assert metrics_port.get("/metrics", SERVER_PORT="9100").status_code == 401
        response = metrics_port.get("/metrics", SERVER_PORT="9100", HTTP_AUTHORIZATION="Bearer scrape-token")
        assert response.status_code == 200
        assert "baohan_http_request_duration_seconds" in response.content.decode()


@pytest.mark.django_db
def test_task_outcomes_are_counted_by_task_tenant_and_outcome() -> None:
    benxi = Tenant.objects.get(code="benxi")
    success = {"task": "tests.schema_probe", "tenant": "benxi", "outcome": "success"}
    before = _sample("baohan_celery_tasks_total", success)
    with tenant_context(benxi):
        assert schema_probe.apply().get()["schema"] == "benxi"
    assert _sample("baohan_celery_tasks_total", success) == before + 1

    from baohan.payments.tasks import statements_match_task

    failure = {"task": "payments.statements_match", "tenant": "public", "outcome": "failure"}
    before = _sample("baohan_celery_tasks_total", failure)
    with pytest.raises(TenantMissing):
        statements_match_task.apply()
    assert _sample("baohan_celery_tasks_total", failure) == before + 1
