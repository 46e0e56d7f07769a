"""The order page and the user centre through Django's test client: payment warnings that apply to the
order's project type and methods, each said once and grouped; the basic-account card; the refund form
only when a reason is allowed; every missing invoice field named at once; 我的发票 and 发票详情; the
user-centre menu on every account page; 等待审核 after a voucher and 支付完成 once paid; the API and the page
say the same payment warnings; the invoice form's types come from the pack."""

from __future__ import annotations

import io
import itertools
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.guarantees.api.common import payment_instructions
from baohan.guarantees.models import Invoice, Order
from baohan.guarantees.selectors import INVOICE_NOT_REQUESTED, invoice_orders_for_enterprise, order_completed_at
from baohan.payments.models import PaymentVoucher
from baohan.portal.pages.order_display import payment_notes
from baohan.rulepacks.models import PaymentWarning, RulePack
from baohan.sections.models import Section
from tests.api import centre_api, page_client, png_bytes, tenant
from tests.money import Waiting, benxi_like_waiting, xinjiang_waiting
from tests.test_apply_groups import pack_republish
from tests.test_bidder_pages import text

_events = itertools.count(1)
BAD_WORDS = re.compile(r">\s*(None|null|undefined)\s*<|约 None")


def pack_of(code: str) -> RulePack:
    data = yaml.safe_load((Path(settings.REGIONS_DIR) / f"{code}.yaml").read_text(encoding="utf-8"))
    return RulePack.model_validate(data)


def notes_text(groups: Any) -> list[tuple[str, str]]:
    return [(g.title, n.text) for g in groups for n in g.notes]


# --- the pack concept, without a database -----------------------------------------------------------------------


def test_a_warning_is_a_string_or_a_condition_and_plain_strings_stay_valid() -> None:
    pack = pack_of("benxi")
    data = pack.model_dump(mode="json")
    data["payment"]["warnings"] = [
        "请勿重复支付。",
        {"text": "只对房屋建筑", "project_types": ["housing"], "group": "tip"},
        {"text": "只对在线支付", "methods": ["online"]},
        "请勿 重复支付！",  # the same words again: said once
    ]
    payment = RulePack.model_validate(data).payment
    from baohan.rulepacks.models import PaymentMethod

    housing = payment.warnings_for(project_type="housing", methods=[PaymentMethod.OFFLINE_TRANSFER])
    assert [w.text for w in housing] == ["请勿重复支付。", "只对房屋建筑"]
    assert isinstance(housing[0], PaymentWarning)
    assert housing[1].group.value == "tip"
    highway = payment.warnings_for(project_type="highway", methods=[PaymentMethod.ONLINE])
    assert [w.text for w in highway] == ["请勿重复支付。", "只对在线支付"]
    data["payment"]["warnings"] = [{"text": "x", "when": "never"}]
    with pytest.raises(ValueError, match="when"):
        RulePack.model_validate(data)


@pytest.mark.parametrize("project_type", ["construction", "government_procurement"])
def test_xinjiang_says_each_payment_rule_once_and_only_for_the_orders_project_type(project_type: str) -> None:
    pack = pack_of("xinjiang")
    groups = payment_notes(pack=pack, project_type=project_type, payer="basic_account", remark=True)
    assert [g.title for g in groups] == ["支付须知", "温馨提示"]
    texts = [t for _, t in notes_text(groups)]
    joined = "\n".join(texts)
    assert len(texts) <= 9, texts  # was 16
    assert joined.count("重复支付") + joined.count("重复付款") == 1, joined
    assert joined.count("订单附言") == 1, joined
    assert len(set(texts)) == len(texts)
    if project_type == "construction":
        assert "企业基本户" in joined
        assert "政府采购" not in joined
    else:
        assert "个人网银或企业网银" in joined
        assert "建设工程" not in joined
        assert "企业基本户" not in joined
    # The payer rule is the pack's own sentence (marked for the page), not a second one of the engine's.
    payer = [n for g in groups for n in g.notes if n.css == "payer-rule"]
    assert len(payer) == 1


def test_xuancheng_points_at_nothing_the_page_does_not_offer() -> None:
    pack = pack_of("xuancheng")
    for warning in pack.payment.warnings:
        text_ = warning if isinstance(warning, str) else warning.text
        assert "确定付款" not in text_
    groups = payment_notes(pack=pack, project_type="construction", payer="basic_account", remark=True)
    joined = "\n".join(t for _, t in notes_text(groups))
    assert "企业基本户" in joined
    assert "订单附言" in joined
    assert joined.count("企业基本户") == 1


def test_the_api_and_the_page_say_the_same_payment_warnings() -> None:
    """A pack listing online payment with no channel offers no online payment: neither the API nor the
    page says its warnings, and both list the same methods."""
    data = pack_of("benxi").model_dump(mode="json")
    data["payment"].update(
        methods=["offline_transfer", "online"],
        online_channels=[],
        warnings=["请勿重复支付。", {"text": "在线支付须在30分钟内完成。", "methods": ["online"]}],
    )
    pack = RulePack.model_validate(data)
    section = Section(project_type="housing", deposit_deadline=timezone.now() + timedelta(days=3))
    order = Order(issuer_code=pack.issuers[0].code, remark_code="R1", payable_amount=Decimal("400.00"))
    order.section = section
    api = payment_instructions(order=order, pack=pack)
    page = [t for _, t in notes_text(payment_notes(pack=pack, project_type="housing", payer=api["payer"], remark=True))]
    assert api["methods"] == ["offline_transfer"]
    assert api["warnings"] == ["请勿重复支付。"]
    assert "在线支付须在30分钟内完成。" not in page
    assert set(api["warnings"]) <= set(page)


# --- pages --------------------------------------------------------------------------------------------------------


def issued(waiting: Waiting) -> None:
    status, order = waiting.issuer.post(
        f"/api/v1/issuer/orders/{waiting.number}/payment",
        {"outcome": "confirmed", "amount": str(waiting.payable), "reference": f"BANK-{waiting.number}"},
    )
    assert status == 200, order
    status, order = waiting.issuer.post(f"/api/v1/issuer/orders/{waiting.number}/issue", {})
    assert (status, order["state"]) == (200, "issued"), order


def section_event(centre: str, section: str, kind: str) -> None:
    status, body = centre_api(centre).post(
        f"/api/v1/centre/sections/{section}/events", {"kind": kind, "event_id": f"orders-{next(_events)}"}
    )
    assert status in (200, 201), body


def section_html(page: str, ident: str) -> str:
    match = re.search(rf'<section class="card[^"]*" id="{ident}".*?</section>', page, re.S)
    assert match, ident
    return match.group(0)


def assert_no_empty_words(page: str) -> None:
    assert not BAD_WORDS.search(page), BAD_WORDS.search(page)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.django_db
def test_xinjiang_payment_card_and_the_visible_basic_account() -> None:
    waiting = xinjiang_waiting(project_type="government_procurement")
    client = page_client("xinjiang", waiting.operator.user)
    page = text(client.get(f"/orders/{waiting.number}/"))
    payment = section_html(page, "payment")
    assert "支付须知" in payment
    assert "温馨提示" in payment
    assert payment.count("重复支付") + payment.count("重复付款") == 1
    assert "个人网银或企业网银" in payment
    assert "建设工程" not in payment
    assert "¥" in payment
    assert "None" not in payment
    basic = section_html(page, "basic-account")
    assert "基本户信息" in basic
    assert waiting.operator.enterprise.basic_account_name in basic
    assert "中国建设银行乌鲁木齐分行" in basic
    assert '<details class="form-values"' not in basic
    assert_no_empty_words(page)


@pytest.mark.django_db
def test_the_refund_form_only_when_a_reason_is_allowed() -> None:
    waiting = xinjiang_waiting()
    issued(waiting)
    client = page_client("xinjiang", waiting.operator.user)
    before = section_html(text(client.get(f"/orders/{waiting.number}/")), "refund")
    assert "申请退保" in before
    assert 'name="trigger"' in before
    assert 'value="bidder_abandons"' in before
    assert 'option value="section_event"' not in before  # not allowed now: not offered

    section_event("xinjiang", waiting.section, "opened")
    page = text(client.get(f"/orders/{waiting.number}/"))
    after = section_html(page, "refund")
    assert "<form" not in after
    assert "申请退保</button>" not in after
    assert "开标后项目发生流标的，可进行退保" in after  # the rules...
    assert "当前不能申请退保" in after
    assert "除上述 3 种情形外均不予退保" in after
    refused = client.post(f"/orders/{waiting.number}/refund", {"trigger": "bidder_abandons"})
    assert refused.status_code in (400, 403)
    assert waiting.order().state == "issued"
    assert_no_empty_words(page)


@pytest.mark.django_db
def test_every_missing_invoice_field_is_named_at_once_and_nothing_is_saved() -> None:
    waiting = xinjiang_waiting()
    issued(waiting)
    section_event("xinjiang", waiting.section, "opened")
    client = page_client("xinjiang", waiting.operator.user)
    form = text(client.get(f"/orders/{waiting.number}/"))
    assert "约 None" not in form
    assert "个工作日" not in section_html(form, "invoice")
    enterprise = waiting.operator.enterprise
    sent = {"form": "paper", "type": "vat_special", "title": enterprise.name, "taxpayer_id": enterprise.uscc}
    refused = client.post(f"/orders/{waiting.number}/invoice", sent)
    assert refused.status_code == 400
    page = text(refused)
    for name in (
        "registered_address",
        "registered_phone",
        "bank_name",
        "bank_account",
        "recipient",
        "recipient_address",
    ):
        assert re.search(rf'id="e-invoice-{name}">[^<]+<', page), name
    assert re.search(r'id="e-invoice-recipient_phone">[^<]+<', page)
    assert_no_empty_words(page)
    with tenant_context(tenant("xinjiang")):
        assert not Invoice.objects.filter(order__number=waiting.number).exists()
    # An electronic invoice may not be a 专用发票: said beside 发票类型, in words.
    wrong = text(client.post(f"/orders/{waiting.number}/invoice", {**sent, "form": "electronic"}))
    assert re.search(r'id="e-invoice-type">电子发票只支持增值税普通发票<', wrong)

    # 流标 after opening allows a refund: its account form and the invoice form share the page, no id twice.
    section_event("xinjiang", waiting.section, "failed_tender")
    asked = client.post(f"/orders/{waiting.number}/refund", {"trigger": "section_event", "reason": "流标"})
    assert asked.status_code == 302
    both = text(client.get(f"/orders/{waiting.number}/"))
    assert 'id="refund_account"' in both
    assert 'class="invoice-form"' in both
    assert 'id="f-bank_name"' in both
    assert 'id="f-invoice-bank_name"' in both
    assert_no_empty_words(both)


def invoice_radio(page: str, form: str) -> str:
    match = re.search(rf'<input type="radio" name="form" value="{form}"[^>]*>', page)
    assert match, form
    return match.group(0)


@pytest.mark.django_db
def test_the_invoice_form_offers_the_types_the_pack_allows_for_each_form(region_pack_data: Any) -> None:
    waiting = xinjiang_waiting()
    issued(waiting)
    section_event("xinjiang", waiting.section, "opened")
    client = page_client("xinjiang", waiting.operator.user)
    form = section_html(text(client.get(f"/orders/{waiting.number}/")), "invoice")
    assert 'data-invoice-types="vat_general"' in invoice_radio(form, "electronic")
    assert 'data-invoice-types="vat_general vat_special"' in invoice_radio(form, "paper")
    assert "电子发票仅支持增值税普通发票；专用发票须填写注册地址、电话、开户银行及账号。" in form
    assert re.findall(r'<option value="(vat_[a-z]+)"', form) == ["vat_general", "vat_special"]

    # A pack that also issues a 专用发票 electronically: the page offers it and says no restriction.
    data = region_pack_data("xinjiang")
    data["invoice"]["kinds"][0]["types"] = ["vat_general", "vat_special"]
    pack_republish(data)
    form = section_html(text(client.get(f"/orders/{waiting.number}/")), "invoice")
    assert 'data-invoice-types="vat_general vat_special"' in invoice_radio(form, "electronic")
    assert "仅支持" not in form
    assert "专用发票须填写注册地址、电话、开户银行及账号。" in form
    enterprise = waiting.operator.enterprise
    sent = {
        "form": "electronic",
        "type": "vat_special",
        "title": enterprise.name,
        "taxpayer_id": enterprise.uscc,
        "registered_address": "乌鲁木齐市天山区1号",
        "registered_phone": "0991-1234567",
        "bank_name": "中国建设银行乌鲁木齐分行",
        "bank_account": "6217000012345678",
    }
    assert client.post(f"/orders/{waiting.number}/invoice", sent).status_code == 302
    shown = section_html(text(client.get(f"/orders/{waiting.number}/")), "invoice")
    assert "增值税专用发票（电子发票）" in shown


@pytest.mark.django_db
def test_my_invoices_and_the_invoice_detail_with_its_three_steps() -> None:
    waiting = benxi_like_waiting("benxi")
    issued(waiting)
    client = page_client("benxi", waiting.operator.user)
    listing = text(client.get("/account/invoices/"))
    assert re.search(rf'data-order="{waiting.number}" data-invoice-state="none"', listing)
    assert "未开具" in listing
    assert 'class="uc-nav"' in listing
    detail = text(client.get(f"/account/invoices/{waiting.number}/"))
    for word in ("订单生成", "订单完成", "发票开具", "开标后方可申请发票"):
        assert word in detail, word
    assert "电子发票约 2 个工作日" in detail
    assert detail.count("progress-step is-done") == 2  # 订单生成, 订单完成: dated; 发票开具 not yet
    with tenant_context(tenant("benxi")):
        order = Order.objects.get(number=waiting.number)
        assert order_completed_at(order=order) is not None
        listed = invoice_orders_for_enterprise(enterprise=order.enterprise, state=INVOICE_NOT_REQUESTED)
        assert [o.number for o in listed] == [waiting.number]

    section_event("benxi", waiting.section, "opened")
    detail = text(client.get(f"/account/invoices/{waiting.number}/"))
    assert f'href="/orders/{waiting.number}/#invoice"' in detail  # 申请发票
    enterprise = waiting.operator.enterprise
    sent = {
        "form": "paper",
        "type": "vat_general",
        "title": enterprise.name,
        "taxpayer_id": enterprise.uscc,
        "recipient": "王收件",
        "recipient_phone": "13700000000",
        "recipient_address": "本溪市平山区1号",
    }
    assert client.post(f"/orders/{waiting.number}/invoice", sent).status_code == 302
    # The order page names the invoice in the same words as 我的发票 (one copy of them, the service's).
    assert "增值税普通发票（纸质发票）" in section_html(text(client.get(f"/orders/{waiting.number}/")), "invoice")
    assert 'data-invoice-state="requested"' in text(client.get("/account/invoices/", {"state": "requested"}))
    assert waiting.number not in text(client.get("/account/invoices/", {"state": "none"}))
    assert waiting.number not in text(client.get("/account/invoices/", {"q": "NO-SUCH-ORDER"}))

    with tenant_context(tenant("benxi")):
        invoice_id = Invoice.objects.get(order__number=waiting.number).pk
    status, body = waiting.issuer.post(
        f"/api/v1/issuer/invoices/{invoice_id}",
        {"action": "issue", "invoice_number": "No.7", "carrier": "顺丰速运", "tracking_number": "SF7000"},
    )
    assert status == 200, body
    detail = text(client.get(f"/account/invoices/{waiting.number}/"))
    assert detail.count("progress-step is-done") == 3
    assert "查看收件信息" in detail
    for shown in ("顺丰速运", "SF7000", "王收件", "本溪市平山区1号", "增值税普通发票（纸质发票）", "已开票"):
        assert shown in detail, shown
    assert "下载发票" not in detail
    assert_no_empty_words(detail)


@pytest.mark.django_db
def test_an_issued_electronic_invoice_is_downloaded_from_its_detail() -> None:
    waiting = xinjiang_waiting()
    issued(waiting)
    section_event("xinjiang", waiting.section, "opened")
    client = page_client("xinjiang", waiting.operator.user)
    enterprise = waiting.operator.enterprise
    sent = {"form": "electronic", "type": "vat_general", "title": enterprise.name, "taxpayer_id": enterprise.uscc}
    assert client.post(f"/orders/{waiting.number}/invoice", sent).status_code == 302
    with tenant_context(tenant("xinjiang")):
        invoice_id = Invoice.objects.get(order__number=waiting.number).pk
    document = io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    document.name = "invoice.pdf"
    response = waiting.issuer.client.post(
        f"/api/v1/issuer/invoices/{invoice_id}", {"action": "issue", "invoice_number": "E-9", "document": document}
    )
    assert response.status_code == 200, response.content
    detail = text(client.get(f"/account/invoices/{waiting.number}/"))
    assert "下载发票" in detail
    assert "查看收件信息" not in detail
    assert "下载发票" in section_html(text(client.get(f"/orders/{waiting.number}/")), "invoice")
    download = client.get(f"/orders/{waiting.number}/documents/invoice")
    assert download.status_code == 200
    assert b"".join(download.streaming_content if download.streaming else [download.content]).startswith(b"%PDF")  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_the_user_centre_menu_is_on_every_account_page() -> None:
    waiting = benxi_like_waiting("benxi")
    client = page_client("benxi", waiting.operator.user)
    for path in (
        "/account/",
        "/orders/",
        "/account/invoices/",
        "/account/refunds/",
        "/account/after-sales/",
        "/account/invoice-titles/",
        "/account/addresses/",
    ):
        page = text(client.get(path))
        nav = re.search(r'<nav class="uc-nav".*?</nav>', page, re.S)
        assert nav, path
        for item in ("我的主页", "我的订单", "我的服务", "我的发票", "退保记录", "订单售后"):
            assert item in nav.group(0), (path, item)
        assert nav.group(0).count('aria-current="page"') == 1, path


@pytest.mark.django_db
def test_a_voucher_leads_to_waiting_for_review_and_payment_to_the_done_page() -> None:
    waiting = benxi_like_waiting("benxi")
    client = page_client("benxi", waiting.operator.user)
    # Not paid and no voucher: no 支付完成 for it, back to the order's page.
    early = client.get(f"/orders/{waiting.number}/paid")
    assert (early.status_code, early["Location"]) == (302, f"/orders/{waiting.number}/")
    # The form's values in the bidder's words: money, rates and dates written out, no raw values.
    filled = re.search(
        r'<details class="form-values">.*?</details>', text(client.get(f"/orders/{waiting.number}/")), re.S
    )
    assert filled
    assert "4.00%" in filled.group(0)
    assert "¥10,000.00" in filled.group(0)
    assert ">0.04<" not in filled.group(0)
    assert "年" in filled.group(0)  # 起保日期 as 2026年12月1日
    image = io.BytesIO(png_bytes())
    image.name = "voucher.png"
    response = client.post(f"/orders/{waiting.number}/voucher", {"payment_voucher": image})
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{waiting.number}/paid"
    page = text(client.get(response["Location"]))
    assert "支付凭证已上传，等待审核" in page  # the voucher waits for review: not yet paid
    assert re.search(r"审核通过后，请等待[^<]*紫金[^<]*出单", page)
    assert "恭喜您已完成订单支付" not in page
    assert "支付完成" not in page
    assert "缴纳审批中" in page
    assert "查看订单详情" in page
    assert_no_empty_words(page)

    with tenant_context(tenant("benxi")):
        voucher = PaymentVoucher.objects.get(order__number=waiting.number).pk
    status, body = waiting.issuer.post(f"/api/v1/issuer/vouchers/{voucher}/decision", {"approve": True})
    assert status == 200, body
    paid = text(client.get(f"/orders/{waiting.number}/paid"))
    assert "支付完成" in paid
    assert re.search(r"恭喜您已完成订单支付，请等待[^<]*紫金[^<]*出单！", paid)
    assert "等待审核" not in paid
    assert_no_empty_words(paid)


@pytest.mark.django_db
def test_a_refused_voucher_has_no_payment_page() -> None:
    waiting = benxi_like_waiting("benxi")
    client = page_client("benxi", waiting.operator.user)
    image = io.BytesIO(png_bytes())
    image.name = "voucher.png"
    assert client.post(f"/orders/{waiting.number}/voucher", {"payment_voucher": image}).status_code == 302
    with tenant_context(tenant("benxi")):
        voucher = PaymentVoucher.objects.get(order__number=waiting.number).pk
    status, body = waiting.issuer.post(
        f"/api/v1/issuer/vouchers/{voucher}/decision", {"approve": False, "reason": "金额不符"}
    )
    assert status == 200, body
    refused = client.get(f"/orders/{waiting.number}/paid")
    assert (refused.status_code, refused["Location"]) == (302, f"/orders/{waiting.number}/")


@pytest.mark.django_db
def test_the_order_list_has_the_manuals_tabs_by_state_with_counts() -> None:
    waiting = xinjiang_waiting()
    client = page_client("xinjiang", waiting.operator.user)
    label = pack_of("xinjiang").progress.status_labels["awaiting_payment"]
    page = text(client.get("/orders/"))
    tabs = re.findall(r'class="state-tab( is-active)?"[^>]*>([^<]+) <span class="state-tab-count">\((\d+)\)', page)
    assert tabs == [(" is-active", "全部", "1"), ("", label, "1")]
    # A state with nothing in it is shown only while it is the one chosen, with its 0; 全部 keeps its count.
    page = text(client.get("/orders/", {"state": "issued"}))
    tabs = re.findall(r'class="state-tab( is-active)?"[^>]*>([^<]+) <span class="state-tab-count">\((\d+)\)', page)
    issued = pack_of("xinjiang").progress.status_labels["issued"]
    assert tabs == [("", "全部", "1"), ("", label, "1"), (" is-active", issued, "0")]
