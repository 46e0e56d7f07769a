"""Every refund rule of every pack: a case it allows and a case it refuses, and the rule shown."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from baohan.guarantees.services.refunds import refund_rules_evaluate
from baohan.rulepacks.loader import rulepack_load_file
from baohan.rulepacks.models import RefundTrigger, SectionStatus
from baohan.sections.models import Section

ABANDONS, EVENT = RefundTrigger.BIDDER_ABANDONS, RefundTrigger.SECTION_EVENT
St = SectionStatus


def section(status: SectionStatus, *, opened: bool) -> Section:
    now = timezone.now()
    return Section(
        code="S",
        deposit_amount=Decimal("1000"),
        deposit_deadline=now,
        opening_time=now + timedelta(days=1),
        status=status.value,
        opened_at=now if opened else None,
    )


# (region, rule, (status, opened, trigger) it allows, (status, opened, trigger) it does not cover)
CASES = [
    ("xinjiang", "before_opening_abandon", (St.ACCEPTING, False, ABANDONS), (St.OPENED, True, ABANDONS)),
    ("xinjiang", "before_opening_suspended_paused", (St.SUSPENDED, False, EVENT), (St.SUSPENDED, True, EVENT)),
    ("xinjiang", "before_opening_suspended_paused", (St.PAUSED, False, EVENT), (St.PAUSED, True, EVENT)),
    ("xinjiang", "before_opening_failed_terminated", (St.TERMINATED, False, EVENT), (St.TERMINATED, True, EVENT)),
    ("xinjiang", "before_opening_failed_terminated", (St.FAILED_TENDER, False, EVENT), (St.OPENED, True, EVENT)),
    ("xinjiang", "after_opening_failed", (St.FAILED_TENDER, True, EVENT), (St.OPENED, True, ABANDONS)),
    ("xuancheng", "before_opening_abandon", (St.ACCEPTING, False, ABANDONS), (St.OPENED, True, ABANDONS)),
    ("xuancheng", "before_opening_suspended_paused", (St.PAUSED, False, EVENT), (St.PAUSED, True, EVENT)),
    ("xuancheng", "before_opening_terminated", (St.TERMINATED, False, EVENT), (St.FAILED_TENDER, False, EVENT)),
    ("xuancheng", "before_opening_terminated", (St.TERMINATED, False, EVENT), (St.FAILED_TENDER, True, EVENT)),
]


def pack(region: str):  # type: ignore[no-untyped-def]
    loaded, _ = rulepack_load_file(Path(settings.REGIONS_DIR) / f"{region}.yaml")
    return loaded


@pytest.mark.parametrize(("region", "rule", "allowed_case", "refused_case"), CASES)
def test_rule_allows_its_case_and_not_another(region: str, rule: str, allowed_case: tuple, refused_case: tuple) -> None:  # type: ignore[type-arg]
    p = pack(region)
    status, opened, trigger = allowed_case
    decision = refund_rules_evaluate(pack=p, version=7, section=section(status, opened=opened), trigger=trigger)
    assert (decision.allowed, decision.rule_code, decision.version) == (True, rule, 7)
    assert decision.rule_text == next(r.text for r in p.refund_rules if r.code == rule)

    status, opened, trigger = refused_case
    decision = refund_rules_evaluate(pack=p, version=7, section=section(status, opened=opened), trigger=trigger)
    assert decision.allowed is False
    assert decision.rule_code == ""
    assert decision.rule_text == p.refund.default_text


def test_every_rule_of_every_pack_is_covered() -> None:
    covered = {(region, rule) for region, rule, _, _ in CASES}
    for region in ("xinjiang", "xuancheng", "benxi"):
        assert {(region, r.code) for r in pack(region).refund_rules} <= covered


def test_a_pack_without_rules_refuses_by_default() -> None:
    p = pack("benxi")
    for status in St:
        for opened in (False, True):
            for trigger in RefundTrigger:
                decision = refund_rules_evaluate(
                    pack=p, version=1, section=section(status, opened=opened), trigger=trigger
                )
                assert (decision.allowed, decision.rule_code) == (False, "")


def test_a_deny_rule_refuses_and_names_itself(region_pack_data) -> None:  # type: ignore[no-untyped-def]
    from baohan.rulepacks.loader import rulepack_validate

    data = region_pack_data("xinjiang")
    data["refund"]["default"] = "allow"
    data["refund_rules"].insert(
        0,
        {"code": "no_refund_once_opened", "text": "开标后不予退保", "when": {"bid_opened": True}, "decision": "deny"},
    )
    p = rulepack_validate(data, file="test.yaml")
    decision = refund_rules_evaluate(pack=p, version=2, section=section(St.FAILED_TENDER, opened=True), trigger=EVENT)
    assert (decision.allowed, decision.rule_code, decision.rule_text) == (
        False,
        "no_refund_once_opened",
        "开标后不予退保",
    )
    decision = refund_rules_evaluate(pack=p, version=2, section=section(St.ACCEPTING, opened=False), trigger=ABANDONS)
    assert (decision.allowed, decision.rule_code) == (True, "before_opening_abandon")
