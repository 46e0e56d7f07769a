"""Bid opening: the centre's listing of a section's guarantees, built by PostgreSQL, says for every
guarantee exactly what the one-guarantee check says (status and its words in each case: valid,
claimed, surrendered, expired, void, a section on hold), in a constant number of statements however
many bidders, and never another section's or another centre's guarantee."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from baohan.claims.models import Claim
from baohan.guarantees.api.centre import guarantee_row
from baohan.guarantees.models import Enterprise, Order
from baohan.guarantees.opening import section_guarantees_json
from baohan.sections.models import Section
from tenants.selectors import pack_in_force
from tests.api import centre_api, tenant
from tests.money import in_centre

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)


def section_with(states: list[tuple[str, date | None, bool]], *, status: str = "accepting") -> Section:
    """A section whose bidders hold guarantees in ``states``: (order state, valid until, paid claim)."""
    pack, version = pack_in_force()
    n = next(_serial)
    now = timezone.now()
    section = Section.objects.create(
        code=f"OPEN-{n:04d}",
        name=f"开标测试第{n}标段",
        project_type="construction",
        deposit_amount=Decimal("5000.00"),
        deposit_deadline=now,
        opening_time=now,
        status=status,
    )
    user = User.objects.create_user(username=f"opening-{n}")
    for i, (state, valid_until, claimed) in enumerate(states):
        enterprise = Enterprise.objects.create(name=f"开标测试企业{n}-{i}", uscc=f"9165{n:04d}MA{i:07d}X")
        order = Order.objects.create(
            number=f"OPN{n:04d}{i:05d}",
            section=section,
            enterprise=enterprise,
            created_by=user,
            deposit_kind="bid",
            issuer_kind=pack.issuers[0].kind.value,
            choice_mode="single_pick",
            issuer_code=pack.issuers[0].code,
            state=state,
            insured_amount=Decimal("5000.00"),
            rate=Decimal("0.005"),
            premium=Decimal("25.00"),
            payable_amount=Decimal("25.00"),
            remark_code=f"O{n:04d}{i:05d}",
            rule_pack_version=version,
            guarantee_number=f"BHOPEN{n:04d}{i:05d}",
            issued_at=now - timedelta(minutes=len(states) - i, microseconds=0 if i % 2 else 123456),
            valid_from=now.date(),
            valid_until=valid_until,
        )
        if claimed:
            Claim.objects.create(
                number=f"CL{n:04d}{i:05d}",
                order=order,
                state="paid",
                claimant_kind="centre",
                claimant_name="招标人",
                claimant_contact="0991-1234567",
                reason="中标后未签订合同",
                amount=Decimal("5000.00"),
                decide_by=now.date(),
            )
    # an order of the section with no guarantee is not listed
    Order.objects.create(
        number=f"OPN{n:04d}DRAFT",
        section=section,
        enterprise=Enterprise.objects.create(name=f"开标测试企业{n}-x", uscc=f"9165{n:04d}MAX000000X"),
        created_by=user,
        deposit_kind="bid",
        issuer_kind="insurer",
        choice_mode="single_pick",
        state="draft",
        insured_amount=Decimal("5000.00"),
        rate=Decimal("0.005"),
        premium=Decimal("25.00"),
        payable_amount=Decimal("25.00"),
        remark_code=f"O{n:04d}DRAFT",
        rule_pack_version=version,
    )
    return section


def one_by_one(section: Section) -> list[dict[str, object]]:
    """What the one-guarantee check answers for each of the section's guarantees, as JSON."""
    pack, _version = pack_in_force()
    orders = (
        Order.objects.filter(section=section, guarantee_number__isnull=False)
        .select_related("section", "enterprise")
        .order_by("issued_at", "id")
    )
    return list(json.loads(JSONRenderer().render([guarantee_row(o, pack) for o in orders])))


CASES = [
    ("issued", date(2099, 1, 1), False),
    ("issued", date(2000, 1, 1), False),  # expired
    ("issued", date(2099, 1, 1), True),  # claimed
    ("surrendered", date(2099, 1, 1), False),
    ("abandoned", date(2099, 1, 1), False),  # void
    ("issued", None, False),
]


@pytest.mark.parametrize("centre", ["xinjiang", "xuancheng"])
@pytest.mark.parametrize("status", ["opened", "suspended", "terminated"])
def test_the_listing_says_what_the_one_guarantee_check_says(centre: str, status: str) -> None:
    def check() -> None:
        section = section_with(CASES, status=status)
        pack, _version = pack_in_force()
        listed = json.loads(section_guarantees_json(section=section, pack=pack))
        expected = one_by_one(section)
        assert len(listed) == len(CASES)
        assert listed == expected
        statuses = {row["status"] for row in listed}
        if status == "opened":
            assert statuses == {"valid", "expired", "claimed", "surrendered", "void"}
        else:
            assert f"section_{status}" in statuses

    in_centre(centre, check)


def test_the_answer_costs_the_same_statements_for_two_bidders_or_two_hundred() -> None:
    centre = centre_api("benxi")
    small = in_centre("benxi", section_with, CASES[:2]).code
    large = in_centre("benxi", section_with, CASES * 34).code
    counts = []
    for code in (small, large, small, large):
        connection.set_schema_to_public()
        with CaptureQueriesContext(connection) as captured:
            status, answer = centre.get(f"/api/v1/centre/sections/{code}/guarantees")
        assert status == 200
        assert answer["section"] == code
        counts.append(len(captured.captured_queries))
        sql = " ".join(q["sql"] for q in captured.captured_queries)
        assert "form_data" not in sql
        assert "legal_rep_id_number" not in sql
        assert "basic_account_number" not in sql
    assert counts[2] == counts[3]
    assert len(centre.get(f"/api/v1/centre/sections/{large}/guarantees")[1]["guarantees"]) == 204


def test_another_centres_section_is_not_found_and_lists_nothing_of_it() -> None:
    code = in_centre("xinjiang", section_with, CASES[:1]).code
    status, answer = centre_api("benxi").get(f"/api/v1/centre/sections/{code}/guarantees")
    assert status == 404
    assert "BHOPEN" not in json.dumps(answer)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert tenant("benxi").code == "benxi"
