"""Section events after bid opening: the centre reports 中止 / 暂停 / 终止 / 流标 after opening, the
section takes the new status and remembers it was opened, each pack's refund rules decide, and
verification (the centre's check, public /verify) answers the new status."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from baohan.documents.models import Policy
from baohan.sections.models import Section, SectionEvent
from tests.api import Api, bidder_api, centre_api, issuer_api, section_payload, sms_code, tenant
from tests.money import benxi_like_waiting, xinjiang_waiting

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)
_sections = itertools.count(1)


@dataclass
class Issued:
    centre: str
    section: str
    number: str
    guarantee: str
    bidder: Api
    api: Api  # the centre's


def _issue(centre: str, waiting_number: str, payable: str, insurer: Api, capture: Any) -> dict[str, Any]:
    status, order = insurer.post(
        f"/api/v1/issuer/orders/{waiting_number}/payment", {"outcome": "confirmed", "amount": payable}
    )
    assert status == 200, order
    with capture(execute=True):  # the policy (and its verification code) is made by a task on issue
        status, order = insurer.post(f"/api/v1/issuer/orders/{waiting_number}/issue", {})
    assert (status, order["state"]) == (200, "issued"), order
    return order


def issued(centre: str, capture: Any) -> Issued:
    if centre == "xinjiang":
        w = xinjiang_waiting()
        order = _issue(centre, w.number, str(w.payable), w.issuer, capture)
        return Issued(centre, w.section, w.number, order["guarantee_number"], w.bidder, centre_api(centre))
    if centre == "benxi":
        w = benxi_like_waiting("benxi")
        order = _issue(centre, w.number, str(w.payable), w.issuer, capture)
        return Issued(centre, w.section, w.number, order["guarantee_number"], w.bidder, centre_api(centre))
    api = centre_api("xuancheng")
    bidder, operator = bidder_api("xuancheng")
    section = f"XC-AO-{next(_sections)}"
    assert api.put(f"/api/v1/centre/sections/{section}", section_payload(project_type="construction"))[0] == 201
    form = {
        "operator_name": operator.name,
        "operator_phone": operator.phone,
        "captcha": "1234",
        "sms_code": sms_code(bidder, "xuancheng", operator.phone, "application"),
    }
    status, order = bidder.post(
        "/api/v1/orders/", {"section": section, "deposit_kind": "bid", "issuer_kind": "insurer", "form": form}
    )
    assert status == 201, order
    status, order = bidder.post(
        f"/api/v1/orders/{order['number']}/submit", {"consents": ["application_notice_authorisation"]}
    )
    assert order["state"] == "awaiting_payment", order
    insurer = issuer_api("xuancheng", order["issuer_code"])
    order = _issue(centre, order["number"], order["payable_amount"], insurer, capture)
    return Issued(centre, section, order["number"], order["guarantee_number"], bidder, api)


def event(i: Issued, kind: str, **extra: Any) -> tuple[int, Any]:
    return i.api.post(
        f"/api/v1/centre/sections/{i.section}/events", {"kind": kind, "event_id": f"ao-{next(_ids)}", **extra}
    )


def section_row(i: Issued) -> tuple[Section, list[tuple[str, str, str]]]:
    with tenant_context(tenant(i.centre)):
        section = Section.objects.get(code=i.section)
        events = [
            (e.kind, e.from_status, e.to_status)
            for e in SectionEvent.objects.filter(section=section).order_by("created_at", "id")
        ]
    connection.set_schema_to_public()
    return section, events


def verification_code(i: Issued) -> str:
    with tenant_context(tenant(i.centre)):
        code = Policy.objects.get(order__number=i.number).verification_code
    connection.set_schema_to_public()
    return code


def checked(i: Issued) -> tuple[str, str, str]:
    """What the centre's check and the public verification say of the guarantee (they must agree)."""
    status, row = i.api.get(f"/api/v1/centre/guarantees/{i.guarantee}")
    assert status == 200, row
    status, public = Api(f"{i.centre}.localhost").get("/api/v1/verify", number=i.guarantee, code=verification_code(i))
    assert status == 200, public
    assert (public["status"], public["status_label"]) == (row["status"], row["status_label"])
    return row["status"], row["status_label"], row["section_status"]


def eligibility(i: Issued) -> dict[str, Any]:
    status, answer = i.bidder.get(f"/api/v1/orders/{i.number}/refund-eligibility")
    assert status == 200, answer
    return dict(answer)


def opened(i: Issued) -> None:
    status, answer = event(i, "opened")
    assert status == 201, answer
    assert answer["bid_opened"] is True
    assert checked(i)[0] == "valid"


# --- Xinjiang: after opening 流标 → refund allowed; 终止 → denied --------------------------------------


def test_xinjiang_failed_tender_after_opening_allows_the_refund(django_capture_on_commit_callbacks: Any) -> None:
    i = issued("xinjiang", django_capture_on_commit_callbacks)
    opened(i)
    status, answer = event(i, "failed_tender", reason="投标人不足三家")
    assert status == 201, answer
    assert (answer["event"]["from_status"], answer["event"]["to_status"]) == ("opened", "failed_tender")
    assert answer["bid_opened"] is True
    section, events = section_row(i)
    assert section.status == "failed_tender"
    assert section.opened_at is not None  # it still remembers it was opened
    assert events == [("opened", "accepting", "opened"), ("failed_tender", "opened", "failed_tender")]

    decision = eligibility(i)
    assert (decision["allowed"], decision["rule_code"], decision["bid_opened"]) == (True, "after_opening_failed", True)
    assert checked(i) == ("section_failed_tender", "标段已流标，保函失效", "failed_tender")
    status, refund = i.bidder.post(f"/api/v1/orders/{i.number}/refund", {"reason": "项目流标"})
    assert (status, refund["rule_code"]) == (201, "after_opening_failed"), refund


def test_xinjiang_termination_after_opening_is_recorded_and_refuses_the_refund(
    django_capture_on_commit_callbacks: Any,
) -> None:
    i = issued("xinjiang", django_capture_on_commit_callbacks)
    opened(i)
    status, answer = event(i, "terminated", reason="招标人终止招标")
    assert status == 201, answer
    assert (answer["section"]["status"], answer["section"]["status_label"]) == ("terminated", "终止")
    assert answer["orders_touched"] == 1
    section, events = section_row(i)
    assert (section.status, section.opened_at is not None) == ("terminated", True)
    assert events[-1] == ("terminated", "opened", "terminated")

    # The issued order records the event on its timeline; it stays issued.
    status, order = i.bidder.get(f"/api/v1/orders/{i.number}")
    assert order["state"] == "issued"
    assert order["timeline"][-1]["transition"] == "section_terminated"

    decision = eligibility(i)
    assert (decision["allowed"], decision["rule_code"], decision["section_status"]) == (False, "", "terminated")
    assert decision["rule_text"] == "除上述 3 种情形外均不予退保。"
    status, error = i.bidder.post(f"/api/v1/orders/{i.number}/refund", {"reason": "项目终止"})
    assert (status, error["code"]) == (403, "refund_refused")
    # No longer plainly valid anywhere it is checked.
    assert checked(i) == ("section_terminated", "标段已终止，保函失效", "terminated")
    page = (
        Api("xinjiang.localhost")
        .client.get("/verify", {"number": i.guarantee, "code": verification_code(i)})
        .content.decode()
    )
    assert "标段已终止，保函失效" in page

    # 终止 is final: nothing follows it, and a refused event changes nothing.
    for kind in ("resumed", "opened", "failed_tender", "suspended", "terminated"):
        status, error = event(i, kind)
        assert (status, error["code"]) == (409, "illegal_section_event"), kind
    after, after_events = section_row(i)
    assert (after.status, after_events) == ("terminated", events)


def test_xinjiang_suspension_after_opening_resumes_as_opened_and_cannot_postpone(
    django_capture_on_commit_callbacks: Any,
) -> None:
    i = issued("xinjiang", django_capture_on_commit_callbacks)
    opened(i)
    status, answer = event(i, "suspended", reason="投诉处理")
    assert status == 201, answer
    assert checked(i)[:2] == ("section_suspended", "标段中止，保函暂停使用")
    # The before-opening rule for 中止 does not apply after opening: the default refuses.
    assert (eligibility(i)["allowed"], eligibility(i)["bid_opened"]) == (False, True)
    status, error = event(i, "opening_postponed", new_opening_time="2031-01-01T10:00:00+08:00")
    assert (status, error["code"]) == (409, "illegal_section_event")
    status, answer = event(i, "resumed")
    assert status == 201, answer
    assert answer["section"]["status"] == "opened"  # back where it was, not 接受投标
    assert checked(i)[0] == "valid"
    status, answer = event(i, "paused")
    assert (status, answer["section"]["status"]) == (201, "paused")
    assert checked(i)[0] == "section_paused"
    _, events = section_row(i)
    assert [e[0] for e in events] == ["opened", "suspended", "resumed", "paused"]
    assert events[2] == ("resumed", "suspended", "opened")


# --- Xuancheng: after opening everything is refused --------------------------------------------------


@pytest.mark.parametrize("kind", ["terminated", "failed_tender", "suspended", "paused"])
def test_xuancheng_refuses_every_refund_after_opening(kind: str, django_capture_on_commit_callbacks: Any) -> None:
    i = issued("xuancheng", django_capture_on_commit_callbacks)
    opened(i)
    status, answer = event(i, kind)
    assert status == 201, answer
    assert answer["section"]["status"] == kind
    decision = eligibility(i)
    assert (decision["allowed"], decision["rule_code"], decision["bid_opened"]) == (False, "", True)
    assert decision["rule_text"] == "除上述3种情形外均不予退保。"
    status, error = i.bidder.post(f"/api/v1/orders/{i.number}/refund", {"reason": "项目变更"})
    assert (status, error["code"]) == (403, "refund_refused")
    assert checked(i)[0] == f"section_{kind}"


def test_xuancheng_termination_before_opening_still_allows_the_refund(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The other side of the rule: only 'after opening' changed."""
    i = issued("xuancheng", django_capture_on_commit_callbacks)
    status, answer = event(i, "terminated")
    assert (status, answer["bid_opened"]) == (201, False)
    decision = eligibility(i)
    assert (decision["allowed"], decision["rule_code"]) == (True, "before_opening_terminated")


# --- Benxi: no rules, so the default denies ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["terminated", "failed_tender"])
def test_benxi_has_no_rules_and_denies_after_opening(kind: str, django_capture_on_commit_callbacks: Any) -> None:
    i = issued("benxi", django_capture_on_commit_callbacks)
    opened(i)
    status, answer = event(i, kind)
    assert status == 201, answer
    decision = eligibility(i)
    assert (decision["allowed"], decision["rule_code"], decision["bid_opened"]) == (False, "", True)
    status, error = i.bidder.post(f"/api/v1/orders/{i.number}/refund", {"reason": "项目终止"})
    assert (status, error["code"]) == (403, "refund_refused")
    status, label, section_status = checked(i)
    assert (status, section_status) == (f"section_{kind}", kind)
    assert "保函失效" in label
