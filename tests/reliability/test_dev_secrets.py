"""Production refuses the published development secrets: with any of them in its environment,
``manage.py check --deploy``, the WSGI application and gunicorn fail to start, naming the variable to
set; the demo seeders' rows (credentials 「dev-secret」, the demo hand-off key and CA root, demo
passwords) fail ``check --deploy --database default`` and a production web process's start."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

from baohan.guarantees.api.auth import credential_create
from baohan.identity.democa import ca_create
from baohan.identity.services.logins import ca_root_trust, handoff_key_set
from baohan.identity.services.staff import staff_account_upsert
from baohan.ops import dev_secrets
from baohan.ops.dev_secrets import (
    DEV_CREDENTIAL_SECRET,
    DEV_FIELD_KEY,
    DEV_HANDOFF_SECRET,
    DEV_INDEX_KEY,
    DEV_SECRET_KEY,
    DEV_STRIPE_WEBHOOK_SECRET,
    check_dev_rows,
    check_dev_settings,
    dev_rows_refuse_at_start,
)
from tenants.management.commands.seed_demo import (
    DEMO_ISSUER_PASSWORD,
    DEMO_STAFF_PASSWORD,
    DEMO_STAFF_PHONE,
    demo_issuer_phone,
)
from tenants.management.commands.seed_demo import Command as SeedDemo
from tenants.selectors import tenant_rule_pack
from tests.api import tenant
from tests.test_production import production_env
from tests.test_production import run as run_process

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
OWN_FERNET_KEY = "bm90LXRoZS1kZXYta2V5LXByb2R1Y3Rpb24tdGVzdCE="
# Each published development value, in the variable production reads it from.
DEV_ENVIRONMENTS: list[tuple[str, str]] = [
    ("DJANGO_SECRET_KEY", DEV_SECRET_KEY),
    ("DJANGO_SECRET_KEY", "django-insecure-" + "x" * 50),
    ("DJANGO_SECRET_KEY_FALLBACKS", DEV_SECRET_KEY),
    ("BAOHAN_FIELD_KEYS", DEV_FIELD_KEY),
    ("BAOHAN_FIELD_KEYS", f"{OWN_FERNET_KEY},{DEV_FIELD_KEY}"),  # kept as an old key: still refused
    ("BAOHAN_INDEX_KEY", DEV_INDEX_KEY),
    ("STRIPE_WEBHOOK_SECRET", DEV_STRIPE_WEBHOOK_SECRET),
]


def _check_deploy(variable: str, value: str) -> subprocess.CompletedProcess[str]:
    return run_process([PYTHON, "manage.py", "check", "--deploy"], production_env(**{variable: value}))


def test_the_development_values_are_the_ones_base_publishes() -> None:
    """What development runs with (DEBUG on, nothing set) is exactly what production refuses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BAOHAN_", "STRIPE_"))}
    env.update({"PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]), "DJANGO_DEBUG": "1"})
    code = (
        "import baohan.settings.base as s; from baohan.ops.dev_secrets import dev_secrets_of; "
        "print(sorted(x.variable for x in dev_secrets_of(s)))"
    )
    result = subprocess.run(
        [PYTHON, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(
        sorted(["DJANGO_SECRET_KEY", "BAOHAN_FIELD_KEYS", "BAOHAN_INDEX_KEY", "STRIPE_WEBHOOK_SECRET"])
    )


def test_production_with_any_development_secret_refuses_to_start_naming_the_variable() -> None:
    cases = [("", ""), *DEV_ENVIRONMENTS]  # first: production's own secrets, which start
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda case: _check_deploy(*case) if case[0] else _baseline(), cases))
    baseline, *refused = results
    assert baseline.returncode == 0, baseline.stderr[-2000:]
    started = 0
    for (variable, _), result in zip(DEV_ENVIRONMENTS, refused, strict=True):
        last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        started += result.returncode == 0
        assert result.returncode != 0, (variable, result.stdout)
        assert last.startswith("django.core.exceptions.ImproperlyConfigured: production refuses development"), last
        assert f"set {variable} to a secret of your own" in last, last
    assert started == 0


def _baseline() -> subprocess.CompletedProcess[str]:
    return run_process([PYTHON, "manage.py", "check", "--deploy"], production_env())


def test_the_wsgi_application_and_gunicorn_refuse_to_start() -> None:
    env = production_env(BAOHAN_INDEX_KEY=DEV_INDEX_KEY, PORT="0", WEB_CONCURRENCY="1", GUNICORN_THREADS="1")
    wsgi = run_process([PYTHON, "-c", "import baohan.wsgi"], env)
    assert wsgi.returncode != 0
    assert "set BAOHAN_INDEX_KEY to a secret of your own" in wsgi.stderr
    gunicorn = run_process([PYTHON, "-m", "gunicorn", "-c", "python:baohan.ops.gunicorn_conf", "baohan.wsgi"], env, 90)
    assert gunicorn.returncode != 0
    assert "BAOHAN_INDEX_KEY" in gunicorn.stdout + gunicorn.stderr


def test_the_system_check_names_the_variable_under_any_settings_with_debug_off() -> None:
    own = {
        "SECRET_KEY": "k" * 60,
        "SECRET_KEY_FALLBACKS": [],
        "BAOHAN_FIELD_KEYS": [OWN_FERNET_KEY],
        "BAOHAN_INDEX_KEY": "an-index-key-of-our-own",
        "STRIPE_WEBHOOK_SECRET": "whsec_of_our_own",
    }
    with override_settings(DEBUG=False, **own):
        assert check_dev_settings() == []
    with override_settings(DEBUG=False, **{**own, "SECRET_KEY": DEV_SECRET_KEY, "BAOHAN_INDEX_KEY": DEV_INDEX_KEY}):
        errors = check_dev_settings()
        assert {e.id for e in errors} == {"baohan.E001", "baohan.E004"}
        hints = {e.hint for e in errors if "DJANGO_SECRET_KEY" in e.msg}
        assert hints == {"Set DJANGO_SECRET_KEY in the environment."}
        with pytest.raises(SystemCheckError, match="BAOHAN_INDEX_KEY"):
            call_command("check", deploy=True, tags=["security"])
    with override_settings(DEBUG=False, **{**own, "STRIPE_WEBHOOK_SECRET": DEV_STRIPE_WEBHOOK_SECRET}):
        assert [e.id for e in check_dev_settings()] == ["baohan.E005"]
    with override_settings(DEBUG=True, SECRET_KEY=DEV_SECRET_KEY):
        assert check_dev_settings() == []  # development runs with them, as published


def test_demo_rows_fail_the_database_check_and_a_production_start() -> None:
    centre = "xinjiang"

    def mine(found: list[str]) -> list[str]:
        return [m for m in found if "probe-dev" in m or f"centre {centre}" in m]

    before = mine([e.msg for e in check_dev_rows(databases=["default"])])
    with tenant_context(tenant(centre)):
        credential_create(kind="centre", key_id="probe-dev", secret=DEV_CREDENTIAL_SECRET, label="probe")
        handoff_key_set(key_id="demo", secret=DEV_HANDOFF_SECRET)
        ca_root_trust(name="Baohan Demo CA", pem=ca_create().certificate_pem())
        get_user_model().objects.filter(username="demo").delete()
        get_user_model().objects.create_user(username="demo", password="demo-pass-2026")
    connection.set_schema_to_public()
    with override_settings(DEBUG=False):
        errors = check_dev_rows(databases=["default"])
        assert check_dev_rows(databases=None) == []  # plain ``check --deploy``: no database queries
        found = mine([e.msg for e in errors])
        assert len(found) - len(before) >= 4, found
        ids = {e.id for e in errors if f"centre {centre}" in e.msg}
        assert {"baohan.E010", "baohan.E011", "baohan.E012", "baohan.E013"} <= ids, ids
        assert any("API credential probe-dev of centre xinjiang" in m for m in found), found
        with pytest.raises(SystemCheckError, match="probe-dev"):
            call_command("check", deploy=True, databases=["default"], tags=["database"])
        with (
            override_settings(BAOHAN_DEV_ROWS_CHECK_AT_START=True),
            pytest.raises(ImproperlyConfigured, match="probe-dev"),
        ):
            dev_rows_refuse_at_start()
        dev_rows_refuse_at_start()  # not asked for (development, tests): nothing refused
    assert dev_secrets.DEV_CREDENTIAL_SECRET == "dev-secret"


def test_the_demo_staff_and_issuer_accounts_seed_demo_makes_fail_the_checks_each_named() -> None:
    centre = "benxi"
    where = f"of centre {centre}"

    def desk(errors: list[Any]) -> list[str]:
        """The demo staff account's finding, then the demo issuer accounts' (by phone), in this centre."""
        mine = [e.msg for e in errors if e.id == "baohan.E013" and where in e.msg]
        return [m for m in mine if "demo staff" in m] + [m for m in mine if "demo issuer" in m]

    with override_settings(DEBUG=False):
        assert desk(check_dev_rows(databases=["default"])) == []
    centre_tenant = tenant(centre)
    with tenant_context(centre_tenant):
        pack = tenant_rule_pack(tenant=centre_tenant)
        SeedDemo()._desk_accounts(tenant=centre_tenant, pack=pack, port=8000)  # what seed_demo makes
        issuers = [(demo_issuer_phone(i), issuer.code) for i, issuer in enumerate(pack.issuers, start=1)]
    connection.set_schema_to_public()
    assert issuers

    with override_settings(DEBUG=False):
        found = desk(check_dev_rows(databases=["default"]))
        assert found[0].startswith(f"the password of the demo staff account {DEMO_STAFF_PHONE} {where}")
        assert f"manage.py staff_user --centre {centre} --phone {DEMO_STAFF_PHONE}" in found[0]
        assert len(found) == 1 + len(issuers), found
        for (phone, code), message in zip(issuers, found[1:], strict=True):
            assert message.startswith(f"the password of the demo issuer account {phone} (issuer {code}) {where}")
        with (
            override_settings(BAOHAN_DEV_ROWS_CHECK_AT_START=True),
            pytest.raises(ImproperlyConfigured, match=f"demo staff account {DEMO_STAFF_PHONE}"),
        ):
            dev_rows_refuse_at_start()

    # A new password for the staff account, the first issuer's account deactivated: they are no longer named.
    with tenant_context(centre_tenant):
        staff_account_upsert(phone=DEMO_STAFF_PHONE, password="an-own-staff-password-7f3k")
        get_user_model().objects.filter(phone__phone=issuers[0][0]).update(is_active=False)
    connection.set_schema_to_public()
    with override_settings(DEBUG=False):
        left = desk(check_dev_rows(databases=["default"]))
    assert len(left) == len(issuers) - 1, left
    assert all("demo staff" not in m and issuers[0][0] not in m for m in left)
    assert DEMO_STAFF_PASSWORD not in " ".join(found)  # named, never shown
    assert DEMO_ISSUER_PASSWORD not in " ".join(found)
