"""onboard_region: idempotent, versioned, all-or-nothing, and no region is special."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_exists, tenant_context

from baohan.sections.models import Section
from tenants.models import Domain, RulePackVersion, Tenant
from tests.conftest import host_client

pytestmark = pytest.mark.django_db(transaction=False)


def write_pack(tmp_path: Path, data: dict[str, Any], name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def onboard(path: Path, *domains: str) -> str:
    out = StringIO()
    call_command("onboard_region", str(path), *[f"--domain={d}" for d in domains], stdout=out, stderr=out)
    return out.getvalue()


def counts() -> tuple[int, int, int]:
    return Tenant.objects.count(), Domain.objects.count(), RulePackVersion.objects.count()


def fourth_pack(region_pack_data: Any) -> dict[str, Any]:
    data = region_pack_data("xuancheng")
    data["centre"].update(code="hexi", name="河西市公共资源交易中心", site_title="河西市电子保函服务平台", theme=None)
    data["centre"]["hotlines"] = ["0937-1234567"]
    return data


def test_rerunning_an_unchanged_pack_changes_nothing_and_says_so() -> None:
    before = counts()
    xinjiang = Tenant.objects.get(code="xinjiang")
    updated_at = xinjiang.updated_at
    output = onboard(Path("regions/xinjiang.yaml"), "xinjiang.localhost")
    number = xinjiang.current_rule_pack.number
    assert output.strip() == f"Unchanged: xinjiang already has this rule pack v{number} (2026.12-1); nothing to do."
    assert counts() == before
    xinjiang.refresh_from_db()
    assert xinjiang.updated_at == updated_at


def test_a_fourth_centre_needs_only_a_pack(tmp_path: Path, region_pack_data: Any) -> None:
    path = write_pack(tmp_path, fourth_pack(region_pack_data))
    output = onboard(path, "hexi.localhost", "ggzy.hexi.localhost")
    assert output.startswith("Created hexi (河西市公共资源交易中心), schema hexi, rule pack v1")
    assert schema_exists("hexi")
    tenant = Tenant.objects.get(code="hexi")
    assert sorted(tenant.domains.values_list("domain", flat=True)) == ["ggzy.hexi.localhost", "hexi.localhost"]
    assert tenant.domains.get(is_primary=True).domain == "hexi.localhost"

    site = host_client("hexi.localhost").get("/api/v1/site").json()
    assert site["region"] == "hexi"
    assert site["name"] == "河西市公共资源交易中心"
    assert site["hotline"] == "0937-1234567"
    assert site["rule_pack_version"] == 1
    page = host_client("ggzy.hexi.localhost").get("/").content.decode()
    assert '<h1 class="centre-name">河西市公共资源交易中心</h1>' in page
    assert "0937-1234567" in page


def test_a_changed_pack_is_a_new_version_and_leaves_data_alone(tmp_path: Path, region_pack_data: Any) -> None:
    data = fourth_pack(region_pack_data)
    path = write_pack(tmp_path, data)
    onboard(path, "hexi.localhost")
    tenant = Tenant.objects.get(code="hexi")
    with tenant_context(tenant):
        Section.objects.create(
            code="HX-1",
            name="一标段",
            project_type="construction",
            deposit_amount="100.00",
            deposit_deadline="2030-01-01T00:00:00Z",
            opening_time="2030-01-02T00:00:00Z",
        )
    first = tenant.current_rule_pack

    data["version"] = "2026.12-9"
    data["centre"]["hotlines"] = ["0937-7654321"]
    output = onboard(write_pack(tmp_path, data), "hexi.localhost")
    assert output.strip() == "Updated hexi: published rule pack v2 (2026.12-9)"
    tenant.refresh_from_db()
    assert tenant.current_rule_pack.number == 2
    assert list(tenant.rule_packs.values_list("number", "label")) == [(1, first.label), (2, "2026.12-9")]
    assert RulePackVersion.objects.get(pk=first.pk).data["centre"]["hotlines"] == ["0937-1234567"]
    with tenant_context(tenant):
        assert list(Section.objects.values_list("code", flat=True)) == ["HX-1"]
    assert host_client("hexi.localhost").get("/api/v1/site").json()["hotline"] == "0937-7654321"


def test_an_invalid_pack_exits_non_zero_and_creates_nothing(tmp_path: Path, region_pack_data: Any, capsys: Any) -> None:
    data = fourth_pack(region_pack_data)
    data["refund_rules"] = [{"code": "x", "text": "t", "when": {"section_status": ["melted"]}}]
    path = write_pack(tmp_path, data)
    before = counts()
    err = StringIO()
    with pytest.raises(CommandError, match=r"1 problem\(s\); nothing was created or changed."):
        call_command("onboard_region", str(path), "--domain=hexi.localhost", stderr=err)
    assert err.getvalue().startswith(f"error: {path}: refund_rules[0].when.section_status[0]: Input should be ")
    assert counts() == before
    assert not schema_exists("hexi")


def test_an_invalid_change_leaves_the_live_version_in_force(tmp_path: Path, region_pack_data: Any) -> None:
    data = region_pack_data("benxi")
    data["payment"]["methods"] = ["offline_transfer", "carrier_pigeon"]
    before = Tenant.objects.get(code="benxi").current_rule_pack_id
    with pytest.raises(CommandError, match=r"1 problem\(s\); nothing was created or changed."):
        onboard(write_pack(tmp_path, data), "benxi.localhost")
    assert Tenant.objects.get(code="benxi").current_rule_pack_id == before


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("xinjiang.localhost", "--domain 'xinjiang.localhost': already serves the centre 'xinjiang'"),
        ("localhost", "--domain 'localhost': this host serves the platform itself"),
        ("bad host!", "--domain 'bad host!': not a valid host name"),
    ],
)
def test_domain_problems_are_refused(tmp_path: Path, region_pack_data: Any, domain: str, message: str) -> None:
    path = write_pack(tmp_path, fourth_pack(region_pack_data))
    before = counts()
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("onboard_region", str(path), f"--domain={domain}", stderr=err)
    assert message in err.getvalue()
    assert counts() == before
    assert not schema_exists("hexi")


def test_reserved_codes_cannot_become_schemas(tmp_path: Path, region_pack_data: Any) -> None:
    data = fourth_pack(region_pack_data)
    data["centre"]["code"] = "public"
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("onboard_region", str(write_pack(tmp_path, data)), "--domain=p.localhost", stderr=err)
    assert "centre.code: 'public' is reserved" in err.getvalue()


def test_a_changed_pack_must_change_its_version(tmp_path: Path, region_pack_data: Any) -> None:
    data = region_pack_data("benxi")
    data["centre"]["hotlines"] = ["024-12345678"]
    before = counts()
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("onboard_region", str(write_pack(tmp_path, data)), "--domain=benxi.localhost", stderr=err)
    assert "version: '2026.12-1' is already published with other content; change the version" in err.getvalue()
    assert counts() == before


def test_an_engine_upgrade_that_adds_defaults_leaves_an_unchanged_pack_unchanged(
    tmp_path: Path, region_pack_data: Any
) -> None:
    """A version published by an older engine carries the digest that engine computed (without the
    defaults added since); the same file onboarded again is still the same pack, not a conflict."""
    benxi = Tenant.objects.get(code="benxi")
    current = benxi.current_rule_pack
    RulePackVersion.objects.filter(pk=current.pk).update(digest="0" * 64)  # as an older engine saw it
    before = counts()
    output = onboard(Path("regions/benxi.yaml"), "benxi.localhost")
    assert output.strip().startswith("Unchanged: benxi already has this rule pack")
    assert counts() == before
    # A real change under the same version is still refused.
    data = region_pack_data("benxi")
    data["centre"]["hotlines"] = ["024-12345678"]
    with pytest.raises(CommandError):
        call_command("onboard_region", str(write_pack(tmp_path, data)), "--domain=benxi.localhost", stderr=StringIO())
    assert counts() == before


def test_sql_key_words_are_valid_centre_codes(tmp_path: Path, region_pack_data: Any) -> None:
    data = fourth_pack(region_pack_data)
    data["centre"]["code"] = "order"
    onboard(write_pack(tmp_path, data), "order.localhost")
    assert schema_exists("order")
    assert host_client("order.localhost").get("/api/v1/site").json()["region"] == "order"


def test_an_unreadable_pack_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    before = counts()
    err = StringIO()
    with pytest.raises(CommandError, match=r"1 problem\(s\); nothing was created or changed."):
        call_command("onboard_region", str(missing), "--domain=absent.localhost", stderr=err)
    assert err.getvalue().startswith(f"error: {missing}: cannot read file: ")
    assert counts() == before
