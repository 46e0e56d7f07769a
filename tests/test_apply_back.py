"""上一步 on the confirm page goes back to the application form of the same draft: its answers (kept
uploads and chosen issuers included) are filled in, sending the form changes that draft and leads back
to the confirm page, and nothing is cancelled. A submitted order, another enterprise's order and a
form with errors change nothing; a random allocation still allocates (and is not drawn again)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from baohan.guarantees.errors import Conflict, InvalidInput, NotFound
from baohan.guarantees.models import AllocationDraw, Order, OrderEvent
from baohan.guarantees.services import orders
from baohan.guarantees.states import Actor, ActorKind
from baohan.rulepacks.models import OrderState
from tests.api import bidder_api, centre_api, page_client, png_bytes, section_payload, sms_code, tenant
from tests.test_scenario_benxi import benxi_form

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return response.content.decode()  # type: ignore[no-any-return]


def new_section(code: str, section: str, **extra: Any) -> None:
    status, body = centre_api(code).put(f"/api/v1/centre/sections/{section}", section_payload(**extra))
    assert status == 201, body


def xinjiang_draft(section: str) -> tuple[Any, Any, Client, dict[str, Any], str, str]:
    """A Xinjiang bidder's draft made through the form, with an uploaded permit: (api, operator,
    client, the form sent, the permit's upload id, the order number)."""
    new_section("xinjiang", section, project_type="construction")
    bidder, operator = bidder_api("xinjiang")
    client = page_client("xinjiang", operator.user)
    status, upload = bidder.upload("/api/v1/uploads", "account_permit", "许可证.png", png_bytes())
    assert status == 201, upload
    form = {
        "deposit_kind": "bid",
        "issuer_kind": "insurer",
        "issuer_codes": ["guoren"],
        "project_type": "construction",
        "bid_validity_days": "90",
        "account_name": "回退测试建设有限公司",
        "bank_name": "中国建设银行乌鲁木齐分行",
        "account_number": operator.enterprise.basic_account_number,
        "operator_name": operator.name,
        "operator_phone": operator.phone,
        "keep_account_permit": upload["id"],
        "captcha": "abcd",
        "sms_code": sms_code(bidder, "xinjiang", operator.phone, "application"),
    }
    done = client.post(f"/sections/{section}/apply", form)
    assert done.status_code == 302, text(done)
    number = done["Location"].split("/")[2]
    return bidder, operator, client, form, upload["id"], number


def edit_url(section: str, number: str) -> str:
    return f"/sections/{section}/apply?edit={number}"


def orders_of(code: str, enterprise: Any) -> list[Order]:
    with tenant_context(tenant(code)):
        return list(Order.objects.filter(enterprise=enterprise))


def revisions(code: str, number: str) -> list[OrderEvent]:
    with tenant_context(tenant(code)):
        return list(OrderEvent.objects.filter(order__number=number, transition="revise").order_by("id"))


def test_going_back_changes_the_same_draft_and_cancels_nothing() -> None:
    section = "XJ-BACK-1"
    bidder, operator, client, form, permit, number = xinjiang_draft(section)

    confirm = text(client.get(f"/orders/{number}/confirm"))
    assert re.search(
        rf'<a class="button" href="/sections/{section}/apply\?edit={number}" data-back>上一步</a>', confirm
    )

    page = text(client.get(edit_url(section, number)))
    assert "修改申请信息" in page
    assert f"您正在修改订单 {number} 的申请信息" in page
    assert f'name="edit" value="{number}"' in page
    assert 'value="回退测试建设有限公司"' in page
    assert f'name="keep_account_permit" value="{permit}"' in page
    assert "许可证.png" in page
    assert re.search(r'id="issuer-guoren" checked', page)
    assert "为保护账户安全，请重新填写。" in page  # the account number is asked again, never shown
    assert f'href="/orders/{number}/confirm">返回</a>' in page
    assert 'name="deposit_kind" value="bid"' in page

    changed = {
        **form,
        "edit": number,
        "account_name": "回退后改名建设有限公司",
        "sms_code": sms_code(bidder, "xinjiang", operator.phone, "application"),
    }
    sent = client.post(edit_url(section, number), changed)
    assert sent.status_code == 302, text(sent)
    assert sent["Location"] == f"/orders/{number}/confirm"
    # Sent twice (a double click, a reload): still the one draft.
    again = client.post(edit_url(section, number), changed)
    assert again["Location"] == f"/orders/{number}/confirm"

    (order,) = orders_of("xinjiang", operator.enterprise)
    assert (order.number, order.state) == (number, OrderState.DRAFT)
    assert order.form_data["account_name"] == "回退后改名建设有限公司"
    assert order.form_data["account_permit"] == permit
    assert order.payer_account_name == "回退后改名建设有限公司"
    first = revisions("xinjiang", number)[0]
    assert (first.from_state, first.to_state) == (OrderState.DRAFT, OrderState.DRAFT)
    assert (first.actor_kind, first.actor_id) == ("bidder", str(operator.user.pk))
    assert first.data["changed"] == ["account_name"]
    assert first.data["issuers"] == ["guoren"]

    assert "回退后改名建设有限公司" in text(client.get(f"/orders/{number}/confirm"))
    listing = text(client.get("/orders/"))
    assert re.findall(r'data-order="(\d+)"', listing) == [number]

    # A confirm page opened before 上一步 became a link sends it as a button: back to the form, nothing cancelled.
    stale = client.post(f"/orders/{number}/confirm", {"action": "withdraw"})
    assert stale["Location"] == edit_url(section, number)
    assert [o.state for o in orders_of("xinjiang", operator.enterprise)] == [OrderState.DRAFT]


def test_errors_on_the_edit_form_name_the_field_and_change_nothing() -> None:
    section = "XJ-BACK-2"
    bidder, operator, client, form, _, number = xinjiang_draft(section)
    refused = client.post(
        edit_url(section, number),
        {
            **form,
            "edit": number,
            "account_name": "改了一半建设有限公司",
            "bid_validity_days": "abc",
            "sms_code": sms_code(bidder, "xinjiang", operator.phone, "application"),
        },
    )
    assert refused.status_code == 400
    body = text(refused)
    assert re.search(r'id="e-bid_validity_days"[^>]*>投标有效期：[^<]+<', body), "no error naming the field"
    assert 'value="改了一半建设有限公司"' in body  # what was typed stays
    assert f'name="edit" value="{number}"' in body  # still the edit form of that draft
    assert "修改申请信息" in body
    (order,) = orders_of("xinjiang", operator.enterprise)
    assert order.form_data["account_name"] == "回退测试建设有限公司"
    assert revisions("xinjiang", number) == []


def test_a_submitted_order_is_not_revised_and_the_link_shows_where_it_stands() -> None:
    section = "XJ-BACK-3"
    bidder, operator, client, form, _, number = xinjiang_draft(section)
    consents = re.findall(r'name="consents" value="([a-z_]+)"', text(client.get(f"/orders/{number}/confirm")))
    submitted = client.post(f"/orders/{number}/confirm", {"consents": consents, "action": "submit"})
    assert submitted["Location"] == f"/orders/{number}/submitted"

    link = client.get(edit_url(section, number))
    assert link.status_code == 302
    assert link["Location"] == f"/orders/{number}/"
    # The edit form sent from a tab still open: refused, shown where the order stands.
    sent = client.post(
        edit_url(section, number),
        {
            **form,
            "edit": number,
            "account_name": "晚到的修改",
            "sms_code": sms_code(bidder, "xinjiang", operator.phone, "application"),
        },
    )
    assert sent["Location"] == f"/orders/{number}/"
    (order,) = orders_of("xinjiang", operator.enterprise)
    assert order.state != OrderState.DRAFT
    assert order.form_data["account_name"] == "回退测试建设有限公司"
    assert revisions("xinjiang", number) == []


def test_another_enterprise_cannot_revise_the_draft() -> None:
    section = "XJ-BACK-4"
    _, operator, client, form, _, number = xinjiang_draft(section)
    _, other = bidder_api("xinjiang")
    stranger = page_client("xinjiang", other.user)
    assert stranger.get(edit_url(section, number)).status_code == 404
    assert stranger.post(edit_url(section, number), {**form, "edit": number, "account_name": "别人"}).status_code == 404
    # The owner's number under another section is not found either.
    new_section("xinjiang", "XJ-BACK-4B", project_type="construction")
    assert client.get(edit_url("XJ-BACK-4B", number)).status_code == 404
    with tenant_context(tenant("xinjiang")), pytest.raises(NotFound):
        orders.order_revise(
            operator=other,
            order_id=Order.objects.get(number=number).pk,
            issuer_kind="insurer",
            issuer_codes=["guoren"],
            form={"account_name": "别人"},
        )
    (order,) = orders_of("xinjiang", operator.enterprise)
    assert order.form_data["account_name"] == "回退测试建设有限公司"
    assert orders_of("xinjiang", other.enterprise) == []


def test_the_service_replaces_the_issuers_asked_and_refuses_a_submitted_order() -> None:
    new_section("benxi", "BX-BACK-1", project_type="housing", amount="10000.00", location="平山区")
    _, operator = bidder_api("benxi")
    with tenant_context(tenant("benxi")):
        order = orders.order_create(
            operator=operator,
            section_code="BX-BACK-1",
            deposit_kind="performance",
            issuer_kind="insurer",
            issuer_codes=["zijin", "yongan"],
            form=benxi_form(),
        )
        assert sorted(order.offers.values_list("issuer_code", flat=True)) == ["yongan", "zijin"]
        assert order.issuer_code == ""
        revised = orders.order_revise(
            operator=operator,
            order_id=order.pk,
            issuer_kind="insurer",
            issuer_codes=["zijin"],
            form={**benxi_form(), "contact_person": "王联系"},
        )
        assert (revised.pk, revised.number, revised.deposit_kind) == (order.pk, order.number, "performance")
        assert list(revised.offers.values_list("issuer_code", flat=True)) == ["zijin"]
        assert revised.issuer_code == "zijin"
        assert revised.form_data["contact_person"] == "王联系"
        (event,) = OrderEvent.objects.filter(order=order, transition="revise")
        assert event.data["issuers"] == ["zijin"]
        assert event.data["changed"] == ["contact_person"]

        # Not an issuer of the panel: refused, nothing changed.
        with pytest.raises(InvalidInput, match="不在本中心的名单中"):
            orders.order_revise(
                operator=operator, order_id=order.pk, issuer_kind="insurer", issuer_codes=["nobody"], form=benxi_form()
            )
        assert list(Order.objects.get(pk=order.pk).offers.values_list("issuer_code", flat=True)) == ["zijin"]

        orders.order_submit(
            order_id=order.pk,
            actor=Actor(ActorKind.BIDDER, str(operator.user.pk), operator.name),
            consents=["broker_notice", "clauses_read", "broker_documents_read"],
            ip=None,
            user_agent="",
        )
        with pytest.raises(Conflict) as refused:
            orders.order_revise(
                operator=operator, order_id=order.pk, issuer_kind="insurer", issuer_codes=["yongan"], form=benxi_form()
            )
        assert refused.value.code == "not_draft"
        fresh = Order.objects.get(pk=order.pk)
        assert fresh.state != OrderState.DRAFT
        assert fresh.form_data["contact_person"] == "王联系"
        assert OrderEvent.objects.filter(order=order, transition="revise").count() == 1


def test_random_allocation_still_allocates_and_is_not_drawn_again() -> None:
    new_section("xuancheng", "XC-BACK-1", project_type="construction")
    bidder, operator = bidder_api("xuancheng")
    client = page_client("xuancheng", operator.user)
    form = {
        "deposit_kind": "bid",
        "issuer_kind": "insurer",
        "operator_name": "王经办",
        "operator_phone": operator.phone,
        "captcha": "abcd",
        "sms_code": sms_code(bidder, "xuancheng", operator.phone, "application"),
    }
    done = client.post("/sections/XC-BACK-1/apply", form)
    assert done.status_code == 302, text(done)
    number = done["Location"].split("/")[2]
    with tenant_context(tenant("xuancheng")):
        drawn = AllocationDraw.objects.get(order__number=number).drawn_code

    page = text(client.get(edit_url("XC-BACK-1", number)))
    assert 'value="王经办"' in page
    assert re.findall(r'data-candidate="([a-z_]+)"', page) == [
        "sample_insurer_a",
        "sample_insurer_b",
        "sample_insurer_c",
    ]
    sent = client.post(
        edit_url("XC-BACK-1", number),
        {
            **form,
            "edit": number,
            "operator_name": "李经办",
            "sms_code": sms_code(bidder, "xuancheng", operator.phone, "application"),
        },
    )
    assert sent["Location"] == f"/orders/{number}/confirm"
    (order,) = orders_of("xuancheng", operator.enterprise)
    with tenant_context(tenant("xuancheng")):
        assert order.form_data["operator_name"] == "李经办"
        assert order.operator_name == "李经办"
        assert list(order.offers.values_list("issuer_code", flat=True)) == [drawn]
        assert order.issuer_code == drawn
        assert AllocationDraw.objects.get(order=order).drawn_code == drawn
    (event,) = revisions("xuancheng", number)
    assert event.data["issuers"] == [drawn]
    assert "draw" not in event.data
    assert "系统随机分配" in text(client.get(f"/orders/{number}/confirm"))
