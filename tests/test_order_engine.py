"""The order state machine: concurrent transitions, abandon, section events, late payments."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.guarantees.errors import Conflict
from baohan.guarantees.models import Enterprise, Order
from baohan.guarantees.services.accounts import bidder_register
from baohan.guarantees.services.orders import order_create, order_offer_decide, order_submit
from baohan.guarantees.states import Actor, ActorKind
from baohan.sections.models import Section
from tests.api import bidder_api, centre_api, issuer_api, png_bytes, section_payload, sms_code, tenant, uscc_make
from tests.test_scenario_benxi import benxi_form


@pytest.fixture
def benxi_committed(committed_db: None) -> Iterator[Any]:
    """A submitted Benxi order asking two insurers, committed so other connections see it."""
    benxi = tenant("benxi")
    with tenant_context(benxi):
        now = timezone.now()
        section = Section.objects.create(
            code="BX-RACE-1",
            name="并发测试标段",
            project_code="BX-RACE",
            project_name="并发测试项目",
            project_type="housing",
            deposit_amount=Decimal("10000.00"),
            deposit_deadline=now + timedelta(days=2),
            opening_time=now + timedelta(days=3),
        )
        operator = bidder_register(
            username="race",
            password="pw-123456",
            enterprise_name="并发测试有限公司",
            uscc=uscc_make(990001),
            operator_name="并发",
            phone="13900990001",
        )
        order = order_create(
            operator=operator,
            section_code=section.code,
            deposit_kind="bid",
            issuer_kind="insurer",
            issuer_codes=["zijin", "yongan"],
            form=benxi_form(),
        )
        order_submit(
            order_id=order.pk,
            actor=Actor(ActorKind.BIDDER, str(operator.user_id)),
            consents=["broker_notice", "clauses_read", "broker_documents_read"],
            ip=None,
            user_agent="",
        )
    try:
        yield benxi, order.pk
    finally:
        with tenant_context(benxi):
            Order.objects.filter(pk=order.pk).delete()
            Section.objects.filter(pk=section.pk).delete()
            get_user_model().objects.filter(username="race").delete()
            Enterprise.objects.filter(uscc=uscc_make(990001)).delete()


def test_concurrent_acceptances_exactly_one_wins(benxi_committed: Any) -> None:
    benxi, order_id = benxi_committed
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def accept(issuer: str) -> None:
        try:
            connection.set_tenant(benxi)
            barrier.wait()
            order_offer_decide(
                order_id=order_id, issuer_code=issuer, actor=Actor(ActorKind.ISSUER, issuer), approve=True
            )
            outcomes[issuer] = "won"
        except Conflict as exc:
            outcomes[issuer] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(code,)) for code in ("zijin", "yongan")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes.values()) == ["taken_by_other_issuer", "won"]  # the loser is told who won
    winner = next(code for code, outcome in outcomes.items() if outcome == "won")
    with tenant_context(benxi):
        order = Order.objects.get(pk=order_id)
        assert (order.state, order.issuer_code) == ("awaiting_payment", winner)
        assert [e.transition for e in order.events.all()] == ["create", "submit", "approve"]
        assert sorted(order.offers.values_list("status", flat=True)) == ["accepted", "released"]


def test_concurrent_transitions_of_one_kind_one_wins_the_other_gets_409(benxi_committed: Any) -> None:
    benxi, order_id = benxi_committed
    barrier = threading.Barrier(3)
    outcomes: list[str] = []
    lock = threading.Lock()

    def cancel() -> None:
        from baohan.guarantees.services.orders import order_cancel

        try:
            connection.set_tenant(benxi)
            barrier.wait()
            order_cancel(order_id=order_id, actor=Actor.system(), reason="并发取消")
            result = "won"
        except Conflict as exc:
            result = exc.code
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=cancel) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["illegal_transition", "illegal_transition", "won"]
    with tenant_context(benxi):
        assert Order.objects.get(pk=order_id).events.filter(transition="cancel").count() == 1


@pytest.mark.django_db
def test_xinjiang_abandon_needs_the_operator_and_hides_the_order() -> None:
    centre = centre_api("xinjiang")
    guoren = issuer_api("xinjiang", "guoren")
    bidder, operator = bidder_api("xinjiang")
    centre.put("/api/v1/centre/sections/XJ-AB-1", section_payload(project_type="government_procurement"))
    _, upload = bidder.upload("/api/v1/uploads", "account_permit", "p.png", png_bytes())
    form = {
        "project_type": "government_procurement",
        "bid_validity_days": 30,
        "account_permit": upload["id"],
        "captcha": "x",
        "sms_code": sms_code(bidder, "xinjiang", operator.phone, "application"),
    }
    _, order = bidder.post(
        "/api/v1/orders/",
        {
            "section": "XJ-AB-1",
            "deposit_kind": "bid",
            "issuer_kind": "insurer",
            "issuer_codes": ["guoren"],
            "form": form,
        },
    )
    number = order["number"]
    # Not yet approved: abandon is not possible in this state.
    status, error = bidder.post(f"/api/v1/orders/{number}/abandon", {"operator_phone": operator.phone})
    assert (status, error["code"]) == (409, "illegal_transition")
    bidder.post(f"/api/v1/orders/{number}/submit", {"consents": ["notice_and_clauses_read"]})
    _, order = guoren.post(f"/api/v1/issuer/orders/{number}/decision", {"approve": True})
    assert order["payment"]["payer"] == "any"  # procurement: personal or enterprise online banking
    status, error = bidder.post(f"/api/v1/orders/{number}/abandon", {"operator_phone": "13000000000"})
    assert (status, error["code"], error["field"]) == (400, "operator_check_failed", "operator_phone")
    status, error = bidder.post(
        f"/api/v1/orders/{number}/abandon", {"operator_phone": operator.phone, "captcha": "x", "sms_code": "000000"}
    )
    assert (status, error["code"], error["field"]) == (400, "sms_code_missing", "sms_code")
    code = sms_code(bidder, "xinjiang", operator.phone, "abandon")
    wrong = "000000" if code != "000000" else "111111"
    status, error = bidder.post(
        f"/api/v1/orders/{number}/abandon", {"operator_phone": operator.phone, "captcha": "x", "sms_code": wrong}
    )
    assert (status, error["code"]) == (400, "sms_code_wrong")
    _, still = bidder.get(f"/api/v1/orders/{number}")
    assert still["state"] == "awaiting_payment"
    status, order = bidder.post(
        f"/api/v1/orders/{number}/abandon", {"operator_phone": operator.phone, "captcha": "x", "sms_code": code}
    )
    assert (status, order["state"], order["state_label"]) == (200, "abandoned", "放弃")
    _, page = bidder.get("/api/v1/orders/")
    assert number not in [o["number"] for o in page["results"]]
    # The bidder may choose again for the same section: the abandoned order no longer counts as live.
    form["sms_code"] = sms_code(bidder, "xinjiang", operator.phone, "application")
    status, again = bidder.post(
        "/api/v1/orders/",
        {
            "section": "XJ-AB-1",
            "deposit_kind": "bid",
            "issuer_kind": "insurer",
            "issuer_codes": ["guoren"],
            "form": form,
        },
    )
    assert status == 201, again


@pytest.mark.django_db
def test_section_events_follow_through_to_orders() -> None:
    centre = centre_api("xuancheng")
    bidder, operator = bidder_api("xuancheng")
    centre.put("/api/v1/centre/sections/XC-EV-1", section_payload(project_type="construction"))
    form = {
        "operator_phone": operator.phone,
        "captcha": "x",
        "sms_code": sms_code(bidder, "xuancheng", operator.phone, "application"),
    }
    _, order = bidder.post(
        "/api/v1/orders/", {"section": "XC-EV-1", "deposit_kind": "bid", "issuer_kind": "insurer", "form": form}
    )
    number = order["number"]
    # Paused: no submission; resumed: fine; postponed: the new time is kept with the old one.
    centre.post("/api/v1/centre/sections/XC-EV-1/events", {"kind": "paused"})
    status, error = bidder.post(f"/api/v1/orders/{number}/submit", {"consents": ["application_notice_authorisation"]})
    assert (status, error["code"]) == (409, "section_not_accepting")
    status, error = centre.post("/api/v1/centre/sections/XC-EV-1/events", {"kind": "opened"})
    assert (status, error["code"]) == (409, "illegal_section_event")
    centre.post("/api/v1/centre/sections/XC-EV-1/events", {"kind": "resumed"})
    _, section = bidder.get("/api/v1/sections/XC-EV-1")
    later = (timezone.now() + timedelta(days=20)).replace(microsecond=0)
    status, error = centre.post("/api/v1/centre/sections/XC-EV-1/events", {"kind": "opening_postponed"})
    assert (status, error["field"]) == (400, "new_opening_time")
    status, result = centre.post(
        "/api/v1/centre/sections/XC-EV-1/events", {"kind": "opening_postponed", "new_opening_time": later.isoformat()}
    )
    assert status == 201, result
    assert result["section"]["postponed_from"] == section["opening_time"]
    # Terminated: the unsubmitted order is cancelled by the system, with the reason.
    status, result = centre.post(
        "/api/v1/centre/sections/XC-EV-1/events", {"kind": "terminated", "reason": "招标人终止"}
    )
    assert result["orders_touched"] == 1
    _, order = bidder.get(f"/api/v1/orders/{number}")
    assert order["state"] == "cancelled"
    last = order["timeline"][-1]
    assert (last["transition"], last["actor_kind"], last["reason"]) == ("cancel", "system", "标段终止")


@pytest.mark.django_db
def test_a_payment_after_the_deadline_is_refused() -> None:
    centre = centre_api("xuancheng")
    bidder, operator = bidder_api("xuancheng")
    centre.put("/api/v1/centre/sections/XC-LATE-1", section_payload(project_type="construction"))
    form = {
        "operator_phone": operator.phone,
        "captcha": "x",
        "sms_code": sms_code(bidder, "xuancheng", operator.phone, "application"),
    }
    _, order = bidder.post(
        "/api/v1/orders/", {"section": "XC-LATE-1", "deposit_kind": "bid", "issuer_kind": "insurer", "form": form}
    )
    _, order = bidder.post(
        f"/api/v1/orders/{order['number']}/submit", {"consents": ["application_notice_authorisation"]}
    )
    insurer = issuer_api("xuancheng", order["issuer_code"])
    with tenant_context(tenant("xuancheng")):
        Section.objects.filter(code="XC-LATE-1").update(deposit_deadline=timezone.now() - timedelta(hours=1))
    paid_at = timezone.now().isoformat()
    status, error = insurer.post(
        f"/api/v1/issuer/orders/{order['number']}/payment",
        {"outcome": "confirmed", "amount": order["payable_amount"], "paid_at": paid_at},
    )
    assert (status, error["code"]) == (409, "payment_late")
    _, order = bidder.get(f"/api/v1/orders/{order['number']}")
    assert order["state"] == "awaiting_payment"


@pytest.mark.django_db
def test_after_approval_a_bidder_leaves_only_by_abandon_and_issuers_never_see_drafts() -> None:
    centre = centre_api("benxi")
    zijin = issuer_api("benxi", "zijin")
    bidder, _ = bidder_api("benxi")
    centre.put("/api/v1/centre/sections/BX-WD-1", section_payload(project_type="housing", amount="20000.00"))
    request = {"section": "BX-WD-1", "deposit_kind": "bid", "issuer_kind": "insurer", "issuer_codes": ["zijin"]}
    _, order = bidder.post("/api/v1/orders/", {**request, "form": benxi_form()})
    number = order["number"]
    _, page = zijin.get("/api/v1/issuer/orders/")
    assert page["results"] == []  # a draft is the bidder's own
    bidder.post(
        f"/api/v1/orders/{number}/submit", {"consents": ["broker_notice", "clauses_read", "broker_documents_read"]}
    )
    _, page = zijin.get("/api/v1/issuer/orders/")
    assert [o["number"] for o in page["results"]] == [number]
    zijin.post(f"/api/v1/issuer/orders/{number}/decision", {"approve": True})
    status, error = bidder.post(f"/api/v1/orders/{number}/cancel", {})
    assert (status, error["code"]) == (409, "illegal_transition")
    _, order = bidder.get(f"/api/v1/orders/{number}")
    assert order["state"] == "awaiting_payment"


@pytest.mark.django_db
def test_bids_count_as_opened_once_the_opening_time_passes() -> None:
    from baohan.guarantees.services.refunds import section_bid_opened

    now = timezone.now()
    section = Section(opening_time=now + timedelta(hours=1), status="accepting")
    assert section_bid_opened(section, now=now) is False
    assert section_bid_opened(section, now=now + timedelta(hours=2)) is True
    section.opening_time = now + timedelta(days=3)  # postponed
    assert section_bid_opened(section, now=now + timedelta(hours=2)) is False


@pytest.mark.django_db
def test_a_guarantee_number_is_used_once() -> None:
    centre = centre_api("xuancheng")
    issued = []
    for i in range(2):
        bidder, operator = bidder_api("xuancheng")
        centre.put(f"/api/v1/centre/sections/XC-GN-{i}", section_payload(project_type="construction"))
        form = {
            "operator_phone": operator.phone,
            "captcha": "x",
            "sms_code": sms_code(bidder, "xuancheng", operator.phone, "application"),
        }
        _, order = bidder.post(
            "/api/v1/orders/", {"section": f"XC-GN-{i}", "deposit_kind": "bid", "issuer_kind": "insurer", "form": form}
        )
        _, order = bidder.post(
            f"/api/v1/orders/{order['number']}/submit", {"consents": ["application_notice_authorisation"]}
        )
        insurer = issuer_api("xuancheng", order["issuer_code"])
        insurer.post(
            f"/api/v1/issuer/orders/{order['number']}/payment",
            {"outcome": "confirmed", "amount": order["payable_amount"]},
        )
        issued.append(insurer.post(f"/api/v1/issuer/orders/{order['number']}/issue", {"guarantee_number": "GN-SAME-1"}))
    (first_status, first), (second_status, second) = issued
    assert (first_status, first["guarantee_number"]) == (200, "GN-SAME-1")
    assert (second_status, second["code"], second["field"]) == (409, "guarantee_number_taken", "guarantee_number")
