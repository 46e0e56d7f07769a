"""Tenant configuration for logins: trusted CA roots and hand-off keys, set by command."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from baohan.identity.democa import ca_create
from baohan.identity.models import HandoffKey, TrustedCaRoot
from tests.api import tenant

pytestmark = pytest.mark.django_db


def test_ca_root_is_trusted_by_one_centre_only(tmp_path: Path) -> None:
    pem = tmp_path / "root.pem"
    pem.write_text(ca_create(name="宣城测试根CA").certificate_pem())
    out = io.StringIO()
    call_command("ca_root", "xuancheng", str(pem), stdout=out)
    assert "xuancheng: trusts root.pem" in out.getvalue()
    with tenant_context(tenant("xuancheng")):
        assert TrustedCaRoot.objects.filter(name="root.pem").count() == 1
    with tenant_context(tenant("benxi")):
        assert not TrustedCaRoot.objects.filter(name="root.pem").exists()
    connection.set_schema_to_public()
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(CommandError, match=r"bad\.pem"):
        call_command("ca_root", "xuancheng", str(bad))
    with pytest.raises(CommandError, match="no centre"):
        call_command("ca_root", "nowhere", str(pem))


def test_handoff_key_reads_the_secret_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("too-short\n"))
    with pytest.raises(CommandError, match="至少32个字符"):
        call_command("handoff_key", "xinjiang", "k-cmd")
    secret = "s" * 40
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    call_command("handoff_key", "xinjiang", "k-cmd", stdout=io.StringIO())
    with tenant_context(tenant("xinjiang")):
        key = HandoffKey.objects.get(key_id="k-cmd")
        assert key.secret == secret
        raw = connection.cursor()
        raw.execute("SELECT secret FROM identity_handoffkey WHERE key_id = 'k-cmd'")
        assert secret not in raw.fetchone()[0]
    connection.set_schema_to_public()
