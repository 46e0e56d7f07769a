"""The application form in the manual's groups: packs name them (title, order, notices), a field in
no group or an unknown group is a loader error naming file and path, the form and the confirm page
show the groups in the same order with formatted values and no empty rows (the same values the order
page shows), and a refused submit keeps what was typed, an uploaded file included (never an SMS code),
while files no order ever names are let go after a day."""

from __future__ import annotations

import copy
import io
import re
from datetime import timedelta
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Order, Upload
from baohan.portal.pages.apply import confirm_groups
from baohan.portal.pages.order_display import form_rows
from baohan.rulepacks.loader import RulePackError, rulepack_validate
from tenants.selectors import pack_of_version
from tests.api import bidder_api, centre_api, page_client, png_bytes, section_payload, sms_code, tenant
from tests.test_apply_back import xinjiang_draft
from tests.test_scenario_benxi import benxi_form

FILE = "regions/benxi.yaml"


# --- the pack ------------------------------------------------------------------------------------------


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(RulePackError) as caught:
        rulepack_validate(data, file=FILE)
    return [str(p) for p in caught.value.problems]


def test_every_region_names_its_groups_in_the_manuals_order(region_pack_data: Any) -> None:
    titles = {
        code: [g["title"] for g in region_pack_data(code)["forms"]["application_groups"]]
        for code in ("benxi", "xinjiang", "xuancheng")
    }
    assert titles["benxi"] == ["电子保函", "项目标段信息", "保险信息", "投保人信息", "被保人信息", "经办人信息"]
    assert titles["xinjiang"] == ["标段信息", "投标人企业信息", "出函机构", "经办人信息"]
    assert titles["xuancheng"] == ["选择平台", "经办人信息"]


def test_a_field_in_no_group_names_file_and_path(region_pack_data: Any) -> None:
    data = region_pack_data("benxi")
    del data["forms"]["application"][1]["group"]
    (problem,) = problems_of(data)
    assert problem.startswith(f"{FILE}: forms.application[1].group: field 'project_code' is in no group")


def test_an_unknown_group_names_the_known_ones(region_pack_data: Any) -> None:
    data = region_pack_data("benxi")
    data["forms"]["application"][0]["group"] = "projekt"
    (problem,) = problems_of(data)
    assert problem == (
        f"{FILE}: forms.application[0].group: unknown group 'projekt'; "
        "groups: issuer, project, insurance, applicant, insured, operator"
    )


def test_group_problems_are_all_reported(region_pack_data: Any) -> None:
    data = region_pack_data("benxi")
    groups = data["forms"]["application_groups"]
    groups.append(copy.deepcopy(groups[1]))  # 'project' twice
    groups.append({"code": "empty", "title": "空"})
    groups.append({"code": "issuer_again", "title": "出函机构", "issuer_choice": True})
    data["forms"]["voucher"][0]["group"] = "operator"
    found = problems_of(data)
    assert f"{FILE}: forms.application_groups: group code 'project' is used twice" in found
    assert f"{FILE}: forms.application_groups[7]: group 'empty' has no fields" in found
    assert f"{FILE}: forms.application_groups: only one group may show the issuer choice" in found
    assert f"{FILE}: forms.voucher[0].group: groups are for the application form only" in found


def test_a_pack_without_groups_stays_valid_and_a_group_then_is_unknown(region_pack_data: Any) -> None:
    data = region_pack_data("xinjiang")
    del data["forms"]["application_groups"]
    for form_field in data["forms"]["application"]:
        del form_field["group"]
    assert rulepack_validate(copy.deepcopy(data), file=FILE).forms.application_groups == []
    data["forms"]["application"][0]["group"] = "section"
    (problem,) = problems_of(data)
    assert (
        problem == f"{FILE}: forms.application[0].group: unknown group 'section'; forms.application_groups lists none"
    )


def test_a_pack_without_groups_shows_the_issuer_choice_then_one_form_group(region_pack_data: Any) -> None:
    from baohan.portal.pages.apply import _group_of, _groups

    data = region_pack_data("xinjiang")
    del data["forms"]["application_groups"]
    for form_field in data["forms"]["application"]:
        del form_field["group"]
    pack = rulepack_validate(data, file=FILE)
    groups = _groups(pack)
    assert [(g.title, g.issuer_choice) for g in groups] == [("选择保函", True), ("完善基本信息", False)]
    assert {_group_of(pack, f) for f in pack.forms.application} == {groups[1].code}


def test_a_logo_stays_inside_the_theme(region_pack_data: Any) -> None:
    data = region_pack_data("benxi")
    data["issuers"][0]["logo"] = "issuers/../../secret.svg"
    (problem,) = problems_of(data)
    assert problem.startswith(f"{FILE}: issuers[0].logo: a logo path stays inside the theme's static folder")


# --- the pages -----------------------------------------------------------------------------------------


def text(response: Any) -> str:
    return response.content.decode()  # type: ignore[no-any-return]


def headings(page: str, kind: str = "g") -> list[str]:
    found = re.findall(rf'<h2 class="card-title group-title" id="{kind}-[a-z_]+">([^<]+)', page)
    return [h.strip() for h in found]


def group_body(page: str, code: str) -> str:
    match = re.search(rf'data-group="{code}".*?</section>', page, re.S)
    assert match, code
    return match.group(0)


def pack_republish(data: dict[str, Any]) -> None:
    """Publish ``data`` as the centre's next pack version (undone with the test's transaction)."""
    from tenants.services import tenant_onboard

    data["version"] = f"{data['version']}.t{timezone.now():%H%M%S%f}"[:40]
    code = data["centre"]["code"]
    tenant_onboard(
        source_text=yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
        source_name=f"{code}.yaml",
        domains=[f"{code}.localhost"],
    )


def same_values_on_both_pages(code: str, number: str) -> dict[str, str]:
    """The confirm page's values and the order page's, by field: one formatter, the same words."""
    with tenant_context(tenant(code)):
        order = Order.objects.select_related("enterprise").get(number=number)
        pack = pack_of_version(order.rule_pack_version)
        confirmed = {name: shown for g in confirm_groups(pack=pack, order=order) for _, shown, name in g.rows}
        listed = {name: shown for name, _, shown in form_rows(order=order, pack=pack)}
    assert confirmed == listed
    return listed


def no_empty_values(page: str) -> None:
    assert "None" not in page
    assert not re.search(r"<dd>\s*(—|-)?\s*</dd>", page), "an empty row"


@pytest.mark.django_db
def test_benxi_form_and_confirm_in_five_groups_with_formatted_values() -> None:
    status, _ = centre_api("benxi").put(
        "/api/v1/centre/sections/BX-GROUPS-1", section_payload(project_type="housing", amount="10000.00")
    )
    assert status == 201
    _, operator = bidder_api("benxi")
    client = page_client("benxi", operator.user)

    section = text(client.get("/sections/BX-GROUPS-1/"))
    cards = re.findall(r'data-deposit-card="([a-z_]+)"', section)
    assert cards == ["bid", "performance", "migrant_wage", "quality"]
    assert section.count("在线办理") == 4
    assert "¥10,000.00" in section
    assert "/static/themes/benxi/issuers/zijin.svg" in section

    page = text(client.get("/sections/BX-GROUPS-1/apply", {"deposit_kind": "performance"}))
    assert headings(page) == ["电子保函", "项目标段信息", "保险信息", "投保人信息", "被保人信息", "经办人信息"]
    # The two 「名称」 are told apart by their headings.
    assert 'data-field="applicant_name"' in group_body(page, "applicant")
    assert 'data-field="insured_name"' in group_body(page, "insured")
    assert 'data-field="insured_name"' not in group_body(page, "applicant")
    assert "保险费率和保费金额以保险公司最终数据为准" in group_body(page, "insurance")
    assert re.search(r'<table class="[^"]*\bissuer-table\b', group_body(page, "issuer"))
    assert "issuers/zijin.svg" in group_body(page, "issuer")

    form = {**benxi_form(), "deposit_kind": "performance", "issuer_kind": "insurer", "issuer_codes": ["zijin"]}
    # Every bad field at once, beside its own field, and what was typed stays.
    refused = client.post(
        "/sections/BX-GROUPS-1/apply", {**form, "insured_name": "", "contact_person": "", "coverage_days": "x"}
    )
    assert refused.status_code == 400
    body = text(refused)
    for name in ("insured_name", "contact_person", "coverage_days"):
        assert re.search(rf'data-field="{name}".*?class="field-error"[^>]*>[^<]+<', body, re.S), name
    assert 'value="本溪市平山区胜利路1号"' in body

    done = client.post("/sections/BX-GROUPS-1/apply", form)
    assert done.status_code == 302, text(done)
    number = done["Location"].split("/")[2]
    confirm = text(client.get(f"/orders/{number}/confirm"))
    assert headings(confirm, "c") == ["电子保函", "项目标段信息", "保险信息", "投保人信息", "被保人信息", "经办人信息"]
    insurance = group_body(confirm, "insurance")
    rows = re.findall(r'data-row="([a-z_]+)"', insurance)
    assert rows == ["insured_amount", "start_date", "coverage_days", "end_date", "premium_rate", "premium_amount"]
    for shown in ("¥10,000.00", "2026年12月1日", "1000日历天", "4.00%", "¥400.00"):
        assert shown in insurance, shown
    assert "2029年8月27日" in insurance  # 终保日期 = 起保日期 + 1000 days
    no_empty_values(confirm)
    both = same_values_on_both_pages("benxi", number)
    assert both["coverage_days"] == "1000日历天"
    assert both["premium_rate"] == "4.00%"
    assert "提交订单" in confirm  # Benxi's words for the button


@pytest.mark.django_db
def test_xinjiang_groups_notices_buttons_and_the_kept_upload() -> None:
    status, _ = centre_api("xinjiang").put(
        "/api/v1/centre/sections/XJ-GROUPS-1", section_payload(project_type="construction")
    )
    assert status == 201
    bidder, operator = bidder_api("xinjiang")
    client = page_client("xinjiang", operator.user)

    page = text(client.get("/sections/XJ-GROUPS-1/apply"))
    assert headings(page) == ["标段信息", "投标人企业信息", "出函机构", "经办人信息"]
    assert "项目类型关系到保险公司" in group_body(page, "section")
    assert "项目类型关系到保险公司" not in group_body(page, "account")
    assert "基本户信息涉及到保函支付" in group_body(page, "account")
    assert page.count("基本户信息涉及到保函支付") == 1  # said once: not also as the field's hint or atop the form
    assert 'data-issuer="guoren"' in group_body(page, "issuer")

    permit = io.BytesIO(png_bytes((40, 30)))
    permit.name = "开户许可证.png"
    form = {
        "deposit_kind": "bid",
        "issuer_kind": "insurer",
        "issuer_codes": ["guoren"],
        "project_type": "construction",
        "bid_validity_days": "90",
        "account_name": operator.enterprise.name,
        "bank_name": "中国建设银行乌鲁木齐分行",
        "account_number": operator.enterprise.basic_account_number,
        "operator_name": operator.name,
        "operator_phone": operator.phone,
    }
    # No picture code, no SMS code: both named at once; the permit is stored and kept.
    refused = client.post("/sections/XJ-GROUPS-1/apply", {**form, "account_permit": permit})
    assert refused.status_code == 400
    body = text(refused)
    assert re.search(r'id="e-captcha"[^>]*>请填写验证码<', body)
    assert re.search(r'id="e-sms_code"[^>]*>请填写短信验证码<', body)
    kept = re.search(r'name="keep_account_permit" value="([0-9a-f-]{36})"', body)
    assert kept, "the uploaded permit is not kept"
    assert "开户许可证.png" in body

    # Another enterprise's upload id is not taken: the field is asked for again.
    _, other = bidder_api("xinjiang")
    with tenant_context(tenant("xinjiang")):
        foreign = Upload.objects.create(
            enterprise=other.enterprise,
            owner=other.user,
            purpose="account_permit",
            original_name="x.png",
            content_type="image/png",
            size=1,
            sha256="0" * 64,
        )
    stolen = client.post(
        "/sections/XJ-GROUPS-1/apply", {**form, "keep_account_permit": str(foreign.pk), "captcha": "x", "sms_code": "1"}
    )
    assert stolen.status_code == 400
    assert re.search(r'id="e-account_permit"[^>]*>请填写上传开户许可证<', text(stolen))

    code = sms_code(bidder, "xinjiang", operator.phone, "application")
    done = client.post(
        "/sections/XJ-GROUPS-1/apply",
        {**form, "keep_account_permit": kept.group(1), "captcha": "abcd", "sms_code": code},
    )
    assert done.status_code == 302, text(done)
    number = done["Location"].split("/")[2]
    with tenant_context(tenant("xinjiang")):
        assert Order.objects.get(number=number).form_data["account_permit"] == kept.group(1)

    confirm = text(client.get(f"/orders/{number}/confirm"))
    assert headings(confirm, "c") == ["标段信息", "投标人企业信息", "出函机构", "经办人信息"]
    section = group_body(confirm, "section")
    assert "建设工程" in section
    assert "construction" not in section
    assert "90天" in section
    assert "¥1,000,000.00" in section
    assert "开户许可证.png" in group_body(confirm, "account")
    assert "国任财产保险股份有限公司" in group_body(confirm, "issuer")
    operator_rows = re.findall(r'data-row="([a-z_]+)"', group_body(confirm, "operator"))
    assert operator_rows == ["operator_name", "operator_phone"]  # the checks are not data to confirm
    for words in ("上一步", "确认并支付", "应付金额总计", "¥1,000.00"):
        assert words in confirm, words
    assert "返回修改" not in confirm
    assert "提交申请" not in confirm
    no_empty_values(confirm)
    both = same_values_on_both_pages("xinjiang", number)
    assert both["account_permit"] == "开户许可证.png"
    assert both["project_type"] == "建设工程"
    assert both["bid_validity_days"] == "90天"


@pytest.mark.django_db
def test_xuancheng_lists_the_panel_it_draws_from_and_confirms_without_check_rows() -> None:
    status, _ = centre_api("xuancheng").put(
        "/api/v1/centre/sections/XC-GROUPS-1", section_payload(project_type="construction")
    )
    assert status == 201
    bidder, operator = bidder_api("xuancheng")
    client = page_client("xuancheng", operator.user)
    page = text(client.get("/sections/XC-GROUPS-1/apply"))
    assert headings(page) == ["选择平台", "经办人信息"]
    candidates = re.findall(r'data-candidate="([a-z_]+)"', page)
    assert candidates == ["sample_insurer_a", "sample_insurer_b", "sample_insurer_c"]
    assert "示例甲财产保险股份有限公司" in page

    code = sms_code(bidder, "xuancheng", operator.phone, "application")
    done = client.post(
        "/sections/XC-GROUPS-1/apply",
        {
            "deposit_kind": "bid",
            "issuer_kind": "insurer",
            "operator_name": "王经办",
            "operator_phone": operator.phone,
            "captcha": "abcd",
            "sms_code": code,
        },
    )
    assert done.status_code == 302, text(done)
    confirm = text(client.get(done["Location"]))
    assert headings(confirm, "c") == ["选择平台", "经办人信息"]
    assert "验证码" not in group_body(confirm, "operator")
    assert "系统随机分配" in confirm
    no_empty_values(confirm)


@pytest.mark.django_db
def test_back_from_confirm_brings_the_same_drafts_answers_and_the_file_back() -> None:
    _bidder, _operator, client, _form, upload_id, number = xinjiang_draft("XJ-GROUPS-2")

    back = re.search(
        r'<a class="button" href="([^"]+)" data-back>上一步</a>', text(client.get(f"/orders/{number}/confirm"))
    )
    assert back, "no 上一步 on the confirm page"
    assert back.group(1) == f"/sections/XJ-GROUPS-2/apply?edit={number}"
    page = text(client.get(back.group(1)))
    assert headings(page) == ["标段信息", "投标人企业信息", "出函机构", "经办人信息"]
    assert 'value="回退测试建设有限公司"' in page
    assert f'name="keep_account_permit" value="{upload_id}"' in page
    assert "许可证.png" in page
    assert re.search(r'id="issuer-guoren" checked', page)
    with tenant_context(tenant("xinjiang")):
        assert Order.objects.get(number=number).state == "draft"  # going back cancels nothing
    # Another enterprise's order number is not found.
    _, other = bidder_api("xinjiang")
    assert page_client("xinjiang", other.user).get(back.group(1)).status_code == 404


@pytest.mark.django_db
def test_a_refused_file_is_named_beside_its_field_and_not_kept() -> None:
    status, _ = centre_api("xinjiang").put(
        "/api/v1/centre/sections/XJ-GROUPS-3", section_payload(project_type="construction")
    )
    assert status == 201
    _, operator = bidder_api("xinjiang")
    client = page_client("xinjiang", operator.user)
    fake = io.BytesIO(b"MZ\x90\x00 not an image")
    fake.name = "permit.png"
    refused = client.post(
        "/sections/XJ-GROUPS-3/apply",
        {"deposit_kind": "bid", "issuer_kind": "insurer", "issuer_codes": ["guoren"], "account_permit": fake},
    )
    assert refused.status_code == 400
    body = text(refused)
    assert re.search(r'id="e-account_permit"[^>]*>上传开户许可证：[^<]+<', body)
    assert "keep_account_permit" not in body
    with tenant_context(tenant("xinjiang")):
        assert not Upload.objects.filter(enterprise=operator.enterprise).exists()


@pytest.mark.django_db
def test_a_typed_sms_code_is_never_written_back() -> None:
    status, _ = centre_api("xinjiang").put(
        "/api/v1/centre/sections/XJ-GROUPS-4", section_payload(project_type="construction")
    )
    assert status == 201
    _, operator = bidder_api("xinjiang")
    client = page_client("xinjiang", operator.user)
    refused = client.post(
        "/sections/XJ-GROUPS-4/apply",
        {"deposit_kind": "bid", "issuer_kind": "insurer", "issuer_codes": ["guoren"], "sms_code": "987654"},
    )
    assert refused.status_code == 400
    body = text(refused)
    assert "987654" not in body
    field = re.search(r'data-field="sms_code".*?</div>\s*</div>', body, re.S)
    assert field, "no SMS code field"
    assert 'value="' not in field.group(0)
    assert "短信验证码仍然有效，请重新填写。" in field.group(0)


@pytest.mark.django_db
def test_random_allocation_without_a_platform_label_names_the_centre(region_pack_data: Any) -> None:
    """The loader asks a random-allocation pack for its platform's label; a pack without one (the
    model allows it) still never prints 「由None随机分配」: the centre draws."""
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from baohan.portal.pages.common import allocation_label
    from baohan.rulepacks.models import RulePack
    from baohan.sections.models import Section

    data = region_pack_data("xuancheng")
    del data["issuer_choice"]["platform_label"]
    pack = RulePack.model_validate(data)  # the model alone: the loader would refuse it
    centre = pack.centre.name
    assert allocation_label(pack) == centre
    assert allocation_label(RulePack.model_validate(region_pack_data("xuancheng"))) == "工保网"

    with tenant_context(tenant("xuancheng")):
        request = RequestFactory().get("/sections/XC-1/", HTTP_HOST="xuancheng.localhost")
        request.user = AnonymousUser()
        request.tenant = tenant("xuancheng")  # type: ignore[attr-defined]
        section = Section(code="XC-1", name="标段", project_type="construction", deposit_amount=1000)
        section.deposit_deadline = timezone.now()
        context = {
            "section": section,
            "deposit_cards": [],
            "issuer_kinds": [{"label": "保险", "issuers": [{"name": "示例甲财产保险股份有限公司"}]}],
            "allocated": True,
            "platform_label": None,
            "my_orders": [],
        }
        page = render_to_string("portal/section.html", context, request=request)
    assert f"出函机构（由{centre}随机分配）" in page
    assert "None" not in page


@pytest.mark.django_db
def test_application_files_no_order_names_are_let_go_after_a_day(django_capture_on_commit_callbacks: Any) -> None:
    from baohan.celery import app
    from baohan.guarantees.tasks import uploads_unattached_sweep_task

    status, _ = centre_api("xinjiang").put(
        "/api/v1/centre/sections/XJ-GROUPS-5", section_payload(project_type="construction")
    )
    assert status == 201
    bidder, operator = bidder_api("xinjiang")
    client = page_client("xinjiang", operator.user)
    form = {
        "deposit_kind": "bid",
        "issuer_kind": "insurer",
        "issuer_codes": ["guoren"],
        "project_type": "construction",
        "bid_validity_days": "90",
        "account_name": operator.enterprise.name,
        "bank_name": "中国建设银行乌鲁木齐分行",
        "account_number": operator.enterprise.basic_account_number,
        "operator_name": operator.name,
        "operator_phone": operator.phone,
    }

    def refused_keeps() -> str:
        permit = io.BytesIO(png_bytes((40, 30)))
        permit.name = "许可证.png"
        body = text(client.post("/sections/XJ-GROUPS-5/apply", {**form, "account_permit": permit}))
        kept = re.search(r'name="keep_account_permit" value="([0-9a-f-]{36})"', body)
        assert kept, "the uploaded permit is not kept"
        return kept.group(1)

    abandoned, used = refused_keeps(), refused_keeps()
    code = sms_code(bidder, "xinjiang", operator.phone, "application")
    done = client.post(
        "/sections/XJ-GROUPS-5/apply", {**form, "keep_account_permit": used, "captcha": "abcd", "sms_code": code}
    )
    assert done.status_code == 302, text(done)
    fresh = refused_keeps()  # a refused form a moment ago: the bidder may still send it again
    with tenant_context(tenant("xinjiang")):
        Upload.objects.filter(pk__in=[abandoned, used]).update(created_at=timezone.now() - timedelta(hours=25))
        stored = Upload.objects.get(pk=abandoned).file.name or ""
        storage = Upload.objects.get(pk=abandoned).file.storage
        assert storage.exists(stored)
        with django_capture_on_commit_callbacks(execute=True):
            assert uploads_unattached_sweep_task() == 1
        assert set(Upload.objects.filter(pk__in=[abandoned, used, fresh]).values_list("pk", flat=True)) == {
            Upload.objects.get(pk=used).pk,
            Upload.objects.get(pk=fresh).pk,
        }
        assert not storage.exists(stored)
        with django_capture_on_commit_callbacks(execute=True):
            assert uploads_unattached_sweep_task() == 0  # safe to run twice
    # Declared like the other periodic tasks: one beat entry, fanned out to every centre.
    entry = settings.CELERY_BEAT_SCHEDULE["guarantees-sweep-unattached-uploads"]
    assert (entry["task"], entry["args"]) == ("payments.fan_out", ["guarantees.uploads_unattached_sweep"])
    assert uploads_unattached_sweep_task.name in app.tasks
