"""Helpers for the money tests: orders waiting for payment, statement lines, signed pushes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Operator, Order
from baohan.payments.statements import StatementLine
from baohan.rulepacks.statement_presets import PRESETS
from tests.api import Api, bidder_api, centre_api, issuer_api, png_bytes, section_payload, sms_code, tenant
from tests.fake_stripe import FakeStripe
from tests.test_scenario_benxi import benxi_form

_sections = itertools.count(1)
_refs = itertools.count(1)
STRIPE_KEY = "sk_test_baohan"
WEBHOOK_SECRET = "whsec_test_baohan"


@dataclass
class Waiting:
    """An approved order waiting for its premium, with everyone who acts on it."""

    centre: str
    number: str
    remark_code: str
    payable: Decimal
    bidder: Api
    issuer: Api
    operator: Operator
    section: str

    def order(self) -> Order:
        with tenant_context(tenant(self.centre)):
            order = Order.objects.select_related("section", "enterprise").get(number=self.number)
        connection.set_schema_to_public()
        return order


def xinjiang_waiting(*, project_type: str = "construction", amount: str = "1000000.00", days: int = 5) -> Waiting:
    """A Xinjiang order (国任) approved and waiting for payment, through the API as the manual goes."""
    centre = centre_api("xinjiang")
    guoren = issuer_api("xinjiang", "guoren")
    bidder, operator = bidder_api("xinjiang")
    code = f"XJ-PAY-{next(_sections)}"
    status, _ = centre.put(
        f"/api/v1/centre/sections/{code}",
        section_payload(project_type=project_type, amount=amount, days_to_deadline=days),
    )
    assert status == 201
    _, upload = bidder.upload("/api/v1/uploads", "account_permit", "permit.png", png_bytes())
    form = {
        "project_type": project_type,
        "bid_validity_days": 90,
        "account_name": operator.enterprise.basic_account_name,
        "bank_name": "中国建设银行乌鲁木齐分行",
        "account_number": operator.enterprise.basic_account_number,
        "account_permit": upload["id"],
        "operator_name": operator.name,
        "operator_phone": operator.phone,
        "captcha": "0532",
        "sms_code": sms_code(bidder, "xinjiang", operator.phone, "application"),
    }
    status, order = bidder.post(
        "/api/v1/orders/",
        {"section": code, "deposit_kind": "bid", "issuer_kind": "insurer", "issuer_codes": ["guoren"], "form": form},
    )
    assert status == 201, order
    bidder.post(f"/api/v1/orders/{order['number']}/submit", {"consents": ["notice_and_clauses_read"]})
    status, order = guoren.post(f"/api/v1/issuer/orders/{order['number']}/decision", {"approve": True})
    assert order["state"] == "awaiting_payment", order
    return Waiting(
        "xinjiang",
        order["number"],
        order["remark_code"],
        Decimal(order["payable_amount"]),
        bidder,
        guoren,
        operator,
        code,
    )


def benxi_like_waiting(centre: str = "benxi", *, amount: str = "10000.00", issuer: str = "zijin") -> Waiting:
    """A Benxi-pack order (``benxi`` or the all-methods ``paytest`` centre) approved by one insurer."""
    api = centre_api(centre)
    insurer = issuer_api(centre, issuer)
    bidder, operator = bidder_api(centre)
    code = f"BX-PAY-{next(_sections)}"
    api.put(f"/api/v1/centre/sections/{code}", section_payload(project_type="housing", amount=amount))
    status, order = bidder.post(
        "/api/v1/orders/",
        {
            "section": code,
            "deposit_kind": "bid",
            "issuer_kind": "insurer",
            "issuer_codes": [issuer],
            "form": benxi_form(),
        },
    )
    assert status == 201, order
    consents = {"consents": ["broker_notice", "clauses_read", "broker_documents_read"]}
    bidder.post(f"/api/v1/orders/{order['number']}/submit", consents)
    status, order = insurer.post(f"/api/v1/issuer/orders/{order['number']}/decision", {"approve": True})
    assert order["state"] == "awaiting_payment", order
    return Waiting(
        centre,
        order["number"],
        order["remark_code"],
        Decimal(order["payable_amount"]),
        bidder,
        insurer,
        operator,
        code,
    )


def line(
    waiting: Waiting,
    *,
    amount: Decimal | str | None = None,
    payer_name: str | None = None,
    payer_account: str | None = None,
    remark: str | None = None,
    at: datetime | None = None,
    reference: str | None = None,
) -> StatementLine:
    """A credit to the issuer's receiving account paying ``waiting``: right unless told otherwise."""
    enterprise = waiting.operator.enterprise
    return StatementLine(
        row=1,
        reference=reference if reference is not None else f"SN{next(_refs):012d}",
        booked_at=(at or timezone.now() - timedelta(minutes=5)).replace(microsecond=0),
        amount=Decimal(str(amount)) if amount is not None else waiting.payable,
        payer_name=payer_name if payer_name is not None else enterprise.basic_account_name,
        payer_account=payer_account if payer_account is not None else enterprise.basic_account_number,
        payer_bank="中国建设银行乌鲁木齐分行",
        remark=remark if remark is not None else f"保费 {waiting.remark_code}",
        raw={},
    )


def statement_csv(lines: list[StatementLine], account_number: str = "3000000000000000001") -> bytes:
    from baohan.payments.statements import statement_render

    return statement_render(
        layout=PRESETS["bank_csv"], lines=lines, account_number=account_number, account_name="收款单位"
    )


@contextmanager
def stripe_fake() -> Iterator[FakeStripe]:
    with (
        FakeStripe(api_key=STRIPE_KEY) as fake,
        override_settings(
            STRIPE_SECRET_KEY=STRIPE_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=fake.base_url
        ),
    ):
        yield fake


def in_centre(code: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with tenant_context(tenant(code)):
        result = fn(*args, **kwargs)
    connection.set_schema_to_public()
    return result
