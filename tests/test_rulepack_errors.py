"""Every kind of pack problem is reported with the file, the path inside it and the problem."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from baohan.rulepacks.loader import RulePackError, rulepack_load_file, rulepack_load_text, rulepack_validate
from baohan.rulepacks.schema import schema_json

REGIONS_DIR = Path(settings.REGIONS_DIR)


def pack_data(code: str = "xinjiang") -> dict[str, Any]:
    return yaml.safe_load((REGIONS_DIR / f"{code}.yaml").read_text(encoding="utf-8"))


def problems_of(data: Any, file: str = "regions/test.yaml") -> list[str]:
    with pytest.raises(RulePackError) as caught:
        rulepack_validate(data, file=file)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("code", ["xinjiang", "xuancheng", "benxi"])
def test_each_region_pack_is_valid(code: str) -> None:
    pack, _ = rulepack_load_file(REGIONS_DIR / f"{code}.yaml")
    assert pack.centre.code == code


def test_unknown_key_is_an_error_naming_its_path() -> None:
    data = pack_data()
    data["refund_rules"][2]["when"]["colour"] = "red"
    assert problems_of(data) == ["regions/test.yaml: refund_rules[2].when.colour: unknown key"]


def test_unknown_top_level_key() -> None:
    data = pack_data()
    data["refund_rulez"] = []
    assert problems_of(data) == ["regions/test.yaml: refund_rulez: unknown key"]


def test_bad_enum_value_names_the_path_and_the_allowed_values() -> None:
    data = pack_data()
    data["refund_rules"][2]["when"]["section_status"] = ["cancelled"]
    [problem] = problems_of(data)
    assert problem.startswith("regions/test.yaml: refund_rules[2].when.section_status[0]: Input should be ")
    assert "'suspended'" in problem
    assert "'failed_tender'" in problem


def test_missing_required_key() -> None:
    data = pack_data()
    del data["centre"]["hotlines"]
    assert problems_of(data) == ["regions/test.yaml: centre.hotlines: required key is missing"]


def test_wrong_type_and_range() -> None:
    data = pack_data()
    data["issuers"][0]["rate"] = "1.5"
    data["forms"]["application"][0]["required"] = "perhaps"
    problems = problems_of(data)
    assert "regions/test.yaml: issuers[0].rate: Input should be less than 1" in problems
    assert any(
        p.startswith("regions/test.yaml: forms.application[0].required: Input should be a valid boolean")
        for p in problems
    )
    assert len(problems) == 2


def test_unknown_canonical_field_name() -> None:
    data = pack_data()
    data["forms"]["application"][0]["name"] = "favourite_colour"
    [problem] = problems_of(data)
    assert problem.startswith("regions/test.yaml: forms.application[0].name: unknown field name 'favourite_colour'")


def test_malformed_yaml_names_line_and_column() -> None:
    text = "version: '1'\ncentre:\n  code: [unclosed\n"
    with pytest.raises(RulePackError) as caught:
        rulepack_load_text(text, file="regions/broken.yaml")
    [problem] = caught.value.problems
    assert problem.file == "regions/broken.yaml"
    assert problem.path.startswith("line 4")
    assert problem.message.startswith("invalid YAML")


def test_a_key_given_twice_is_an_error() -> None:
    text = (REGIONS_DIR / "xinjiang.yaml").read_text(encoding="utf-8") + "\nrefund_rules: []\n"
    with pytest.raises(RulePackError) as caught:
        rulepack_load_text(text, file="regions/twice.yaml")
    [problem] = caught.value.problems
    assert problem.path.startswith("line ")
    assert problem.message == "invalid YAML: key 'refund_rules' is given twice"


def test_a_pack_must_be_a_mapping() -> None:
    assert problems_of(["not", "a", "mapping"]) == [
        "regions/test.yaml: a rule pack must be a mapping of keys to values"
    ]


def test_cross_reference_problems_are_all_reported_with_paths() -> None:
    data = pack_data("benxi")
    data["issuers"][0]["deposit_kinds"] = ["bid", "tunnel"]
    problems = problems_of(data)
    assert problems == [
        "regions/test.yaml: issuers[0].deposit_kinds[1]: "
        "Input should be 'bid', 'performance', 'migrant_wage' or 'quality'"
    ]
    data = pack_data("xinjiang")
    data["payment"]["payer_rules"][0]["project_types"] = ["shipbuilding"]
    data["forms"]["application"].append({"name": "payment_voucher", "label": "凭证"})
    data["issuers"][0]["kind"] = "bank"
    problems = problems_of(data)
    assert "regions/test.yaml: payment.payer_rules[0].project_types[0]: unknown project type 'shipbuilding'" in problems
    assert any(
        p.startswith("regions/test.yaml: forms.application[") and "does not belong on the application form" in p
        for p in problems
    )
    assert any("upload: a file field needs upload limits" in p for p in problems)
    assert "regions/test.yaml: issuers[0].kind: 'bank' is not offered in products.issuer_kinds" in problems


def test_random_allocation_needs_a_panel() -> None:
    data = pack_data("xuancheng")
    data["issuers"] = data["issuers"][:1]
    assert problems_of(data) == [
        "regions/test.yaml: issuer_choice.mode: random allocation needs at least two issuers on the panel"
    ]


def test_refund_rule_without_conditions() -> None:
    data = pack_data()
    data["refund_rules"][1]["when"] = {}
    assert problems_of(data) == ["regions/test.yaml: refund_rules[1].when: a rule must state at least one condition"]


def test_upload_limits_are_validated() -> None:
    data = pack_data()
    permit = next(f for f in data["forms"]["application"] if f["name"] == "account_permit")
    permit["upload"]["types"] = ["exe"]
    [problem] = problems_of(data)
    assert "forms.application[" in problem
    assert ".upload.types[0]: Input should be " in problem


def test_problems_do_not_depend_on_input_order() -> None:
    data = pack_data()
    reordered = {key: data[key] for key in reversed(list(data))}
    assert rulepack_validate(copy.deepcopy(reordered), file="x") == rulepack_validate(data, file="x")


def test_json_schema_export_is_current() -> None:
    assert (REGIONS_DIR / "schema.json").read_text(encoding="utf-8") == schema_json(), (
        "regions/schema.json is stale: run `make schema`"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/",
        "http:evil",
        "ftp://ggzy.example.gov.cn/",
        "zwfw.xinjiang.gov.cn/index.html",
        "https://ggzy.example.gov.cn/a b",
    ],
)
def test_the_trading_platform_entry_is_a_web_address(url: str) -> None:
    """``login.handoff.entry_url`` is shown to bidders as a link: only http(s) addresses on a host pass."""
    data = pack_data("xinjiang")
    data["login"]["handoff"]["entry_url"] = url
    [problem] = problems_of(data)
    assert problem == (
        "regions/test.yaml: login.handoff.entry_url: "
        "must be an http:// or https:// address (https://ggzy.example.gov.cn/)"
    )


def test_the_trading_platform_entry_may_be_http_or_https() -> None:
    data = pack_data("xinjiang")
    for url in ("http://zwfw.xinjiang.gov.cn/xinjiangggzy/index_new.html", "https://ggzy.example.gov.cn/?a=1#top"):
        data["login"]["handoff"]["entry_url"] = url
        pack = rulepack_validate(copy.deepcopy(data), file="x")
        assert pack.login.handoff is not None
        assert pack.login.handoff.entry_url == url


@pytest.mark.parametrize("code", ["xinjiang", "xuancheng", "benxi"])
def test_each_issuer_logo_is_found_and_a_real_issuers_sits_in_its_centres_theme(code: str) -> None:
    """A pack's ``issuers[].logo`` is looked up in the centre's theme, then base's (``theme_static``). A real panel
    member's logo belongs to the centre that names it (``themes/<centre>/static/``); only the placeholders of
    sample issuers may be shared from base."""
    from tenants.themes import BASE_THEME, theme_static_file

    pack, _ = rulepack_load_file(REGIONS_DIR / f"{code}.yaml")
    themes = Path(settings.THEMES_DIR).resolve()
    logos = [issuer for issuer in pack.issuers if issuer.logo]
    assert logos, "the pack shows issuer logos"
    for issuer in logos:
        assert issuer.logo is not None
        found = theme_static_file(issuer.logo, pack.theme)
        assert found is not None, f"{issuer.code}: {issuer.logo} is in neither the {pack.theme} nor the base theme"
        found = found.resolve()
        if issuer.sample:
            assert found.is_relative_to(themes / pack.theme / "static") or found.is_relative_to(
                themes / BASE_THEME / "static"
            )
        else:
            assert found.is_relative_to(themes / pack.theme / "static"), f"{issuer.code}: {issuer.logo} is in {found}"
    # Base keeps no real issuer's logo, whichever centre names it.
    real = {issuer.logo for issuer in logos if not issuer.sample}
    assert not [logo for logo in real if (themes / BASE_THEME / "static" / str(logo)).exists()]
