"""Offline transfers: statements in (file, command, push), lines stored once, matched by remark
code, checked against the pack's rules, and every outcome's money accounted for."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Order
from baohan.guarantees.states import Actor
from baohan.payments.models import LedgerEntry, OpenLine, Payment, Payout, StatementLine, StatementLineEvent
from baohan.payments.selectors import ledger_problems, order_balances
from baohan.payments.services.intake import bank_push_key_set, statement_lines_match, statement_lines_store
from baohan.sections.models import Section
from tests.api import tenant
from tests.money import Waiting, in_centre, line, statement_csv, xinjiang_waiting

pytestmark = pytest.mark.django_db
ACCOUNT = "3000000000000000001"  # 国任's receiving account in Xinjiang's pack


def settle(waiting: Waiting, *lines: Any) -> dict[str, int]:
    def run() -> dict[str, int]:
        statement_lines_store(
            issuer_code="guoren", account_number=ACCOUNT, lines=list(lines), source="command", actor=Actor.system()
        )
        return statement_lines_match().outcomes

    return dict(in_centre(waiting.centre, run))


def money_of(waiting: Waiting) -> tuple[str, list[tuple[str, str, Decimal]], list[tuple[str, Decimal, Decimal]]]:
    def read() -> Any:
        order = Order.objects.get(number=waiting.number)
        payments = [(p.outcome, p.reason_code, p.amount) for p in order.payments.order_by("id")]
        payouts = [(p.kind, p.amount, p.fee) for p in order.payouts.order_by("id")]
        assert ledger_problems() == []
        return order.state, payments, payouts

    return in_centre(waiting.centre, read)  # type: ignore[no-any-return]


def test_a_statement_file_pays_the_order_once_however_often_it_is_imported(
    django_capture_on_commit_callbacks: Any,
) -> None:
    waiting = xinjiang_waiting()
    good = line(waiting, remark=f"投标保费 附言{waiting.remark_code} 用途")
    content = statement_csv([good])
    with django_capture_on_commit_callbacks(execute=True):
        response = waiting.issuer.client.post("/api/v1/issuer/statements", {"file": _file(content, "0601.csv")})
    status = response.status_code
    assert status == 201
    _, order = waiting.bidder.get(f"/api/v1/orders/{waiting.number}")
    assert order["state"] == "awaiting_issue"
    assert [s["label"] for s in order["progress"]["order"] if s["reached_at"]][-1] == "付款成功"
    _, money = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/payments")
    [payment] = money["payments"]
    assert (payment["outcome"], Decimal(payment["amount"]), payment["channel"]) == (
        "applied",
        waiting.payable,
        "bank_transfer",
    )
    assert payment["payer_account"].endswith(waiting.operator.enterprise.basic_account_number[-4:])
    assert payment["payer_account"].startswith("*")
    balances = in_centre("xinjiang", lambda: order_balances(order_id=Order.objects.get(number=waiting.number).pk))
    assert balances == {"cash": waiting.payable, "premium": -waiting.payable, "fee": 0, "refunds_due": 0}

    # The same file again, and a later file overlapping it: nothing is paid twice.
    with django_capture_on_commit_callbacks(execute=True):
        response = waiting.issuer.client.post("/api/v1/issuer/statements", {"file": _file(content, "0601.csv")})
    assert (response.status_code, response.json()["lines_total"], response.json()["lines_new"]) == (201, 1, 0)
    other = line(waiting, amount="5.00", remark="其他来款", payer_name="某某", payer_account="6200000000001111")
    with django_capture_on_commit_callbacks(execute=True):
        response = waiting.issuer.client.post(
            "/api/v1/issuer/statements", {"file": _file(statement_csv([good, other]), "0601-0602.csv")}
        )
    assert (response.json()["lines_total"], response.json()["lines_new"]) == (2, 1)
    state, payments, payouts = money_of(waiting)
    assert (state, len(payments), payouts) == ("awaiting_issue", 1, [])
    # The line without a remark code waits for staff.
    _, queue = waiting.issuer.get("/api/v1/issuer/statement-lines/", status="unmatched")
    assert [(q["amount"], q["note"]) for q in queue["results"]] == [("5.00", "未找到订单附言")]


def _file(content: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


def test_a_file_that_cannot_be_read_is_refused_whole() -> None:
    waiting = xinjiang_waiting()
    content = statement_csv([line(waiting)]).replace(b"1,000.00", b"1,OOO.00")
    response = waiting.issuer.client.post("/api/v1/issuer/statements", {"file": _file(content, "bad.csv")})
    body = response.json()
    assert (response.status_code, body["code"], body["field"]) == (400, "statement_invalid", "file")
    assert "贷方发生额" in body["message"]
    assert in_centre("xinjiang", lambda: StatementLine.objects.count()) == 0
    response = waiting.issuer.client.post("/api/v1/issuer/statements", {"file": _file(b"\x89PNG\r\n", "x.csv")})
    assert (response.status_code, response.json()["code"]) == (400, "statement_invalid")
    response = waiting.issuer.client.post(
        "/api/v1/issuer/statements",
        {"file": _file(statement_csv([line(waiting)]), "x.csv"), "account_number": "123456"},
    )
    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        400,
        "unknown_account",
        "account_number",
    )


def test_a_payment_from_the_basic_account_is_applied() -> None:
    waiting = xinjiang_waiting()
    assert settle(waiting, line(waiting)) == {"applied": 1}
    assert money_of(waiting) == ("awaiting_issue", [("applied", "", waiting.payable)], [])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"payer_account": "6222000000009999"}, "payer_account_mismatch"),
        ({"payer_name": "另一家建设有限公司"}, "payer_name_mismatch"),
        ({"payer_account": "6222000000009999", "payer_name": "张三"}, "payer_account_and_name_mismatch"),
        ({"amount": "999.99"}, "amount_short"),
    ],
)
def test_a_refused_payment_cancels_the_order_and_goes_back_less_the_fee(change: dict[str, str], reason: str) -> None:
    waiting = xinjiang_waiting()
    paid = Decimal(change.get("amount", waiting.payable))
    assert settle(waiting, line(waiting, **change)) == {"refused": 1}  # type: ignore[arg-type]
    fee = Decimal("20.00")  # Xinjiang's pack: auto_refund_service_fee
    assert money_of(waiting) == ("cancelled", [("refused", reason, paid)], [("refused", paid - fee, fee)])
    _, order = waiting.bidder.get(f"/api/v1/orders/{waiting.number}")
    last = order["timeline"][-1]
    assert (last["transition"], last["actor_kind"]) == ("refuse_payment", "system")
    _, money = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/payments")
    [payout] = money["payouts"]
    assert (payout["state"], payout["kind_label"], [s["reached"] for s in payout["progress"]]) == (
        "due",
        "支付被拒退费",
        [True, False],
    )
    assert payout["due_by"] is not None  # within the pack's 5 working days


def test_a_late_payment_is_refused_and_refunded() -> None:
    waiting = xinjiang_waiting()
    deadline = waiting.order().section.deposit_deadline
    late = line(waiting, at=deadline + timedelta(minutes=1))
    assert settle(waiting, late) == {"refused": 1}
    state, payments, _ = money_of(waiting)
    assert (state, payments[0][1]) == ("cancelled", "payment_late")


def test_procurement_may_pay_from_any_account() -> None:
    waiting = xinjiang_waiting(project_type="government_procurement")
    personal = line(waiting, payer_name="张三", payer_account="6222000011112222")
    assert settle(waiting, personal) == {"applied": 1}


def test_overpaid_surplus_and_a_second_payment_go_back_in_full() -> None:
    waiting = xinjiang_waiting()
    over = waiting.payable + Decimal("100.00")
    first = line(waiting, amount=over)
    second = line(waiting, at=timezone.now() - timedelta(minutes=1))
    assert settle(waiting, first, second) == {"overpaid": 1, "duplicate": 1}
    state, payments, payouts = money_of(waiting)
    assert state == "awaiting_issue"
    assert [p[0] for p in payments] == ["overpaid", "duplicate"]
    assert payouts == [("surplus", Decimal("100.00"), Decimal("0.00")), ("duplicate", waiting.payable, Decimal("0"))]
    balances = in_centre("xinjiang", order_balances, order_id=waiting.order().pk)
    assert balances["premium"] == -waiting.payable
    assert balances["refunds_due"] == -(waiting.payable + Decimal("100.00"))


def test_payouts_are_listed_for_the_issuer_and_paid_once() -> None:
    waiting = xinjiang_waiting()
    settle(waiting, line(waiting, payer_account="6222000000009999"))
    _, page = waiting.issuer.get("/api/v1/issuer/payouts/", state="due")
    [payout] = page["results"]
    status, error = waiting.issuer.post(f"/api/v1/issuer/payouts/{payout['number']}/paid", {"reference": ""})
    assert (status, error["field"]) == (400, "reference")
    status, paid = waiting.issuer.post(f"/api/v1/issuer/payouts/{payout['number']}/paid", {"reference": "TK0001"})
    assert (status, paid["state"], paid["reference"]) == (200, "paid", "TK0001")
    status, error = waiting.issuer.post(f"/api/v1/issuer/payouts/{payout['number']}/paid", {"reference": "TK0002"})
    assert (status, error["code"]) == (409, "payout_not_due")
    balances = in_centre("xinjiang", order_balances, order_id=waiting.order().pk)
    assert balances == {"cash": Decimal("20.00"), "premium": 0, "refunds_due": 0, "fee": Decimal("-20.00")}
    _, mine = waiting.bidder.get("/api/v1/payouts/")
    assert [(p["number"], p["state"], all(s["reached"] for s in p["progress"])) for p in mine["results"]] == [
        (payout["number"], "paid", True)
    ]
    # Another issuer of the same centre sees none of it.
    from tests.api import issuer_api

    other = issuer_api("xinjiang", "pingan")
    _, page = other.get("/api/v1/issuer/payouts/")
    assert page["results"] == []
    status, _ = other.post(f"/api/v1/issuer/payouts/{payout['number']}/paid", {"reference": "X"})
    assert status == 404


def test_unmatched_lines_wait_for_staff_who_assign_or_dismiss_them() -> None:
    waiting = xinjiang_waiting()
    lost = line(waiting, remark="保证金保费")  # the bidder forgot the remark code
    stray = line(waiting, amount="12.00", remark="退款", payer_name="某公司", payer_account="6200000000002222")
    assert settle(waiting, lost, stray) == {}
    _, queue = waiting.issuer.get("/api/v1/issuer/statement-lines/", status="unmatched")
    ids = {Decimal(q["amount"]): q["id"] for q in queue["results"]}
    status, error = waiting.issuer.post(
        f"/api/v1/issuer/statement-lines/{ids[Decimal('12.00')]}/dismiss", {"reason": ""}
    )
    assert (status, error["field"]) == (400, "reason")
    status, done = waiting.issuer.post(
        f"/api/v1/issuer/statement-lines/{ids[Decimal('12.00')]}/dismiss", {"reason": "非保费来款"}
    )
    assert (status, done["status"]) == (200, "dismissed")
    status, error = waiting.issuer.post(
        f"/api/v1/issuer/statement-lines/{ids[waiting.payable]}/assign", {"order": "NO-SUCH"}
    )
    assert (status, error["code"]) == (400, "unknown_order")
    status, done = waiting.issuer.post(
        f"/api/v1/issuer/statement-lines/{ids[waiting.payable]}/assign", {"order": waiting.number}
    )
    assert (status, done["status"], done["order"]) == (200, "matched", waiting.number)
    assert money_of(waiting)[0] == "awaiting_issue"
    status, error = waiting.issuer.post(
        f"/api/v1/issuer/statement-lines/{ids[waiting.payable]}/assign", {"order": waiting.number}
    )
    assert (status, error["code"]) == (409, "line_not_unmatched")
    # Both have left the queue of open lines: staff see none left to handle.
    _, queue = waiting.issuer.get("/api/v1/issuer/statement-lines/", status="unmatched")
    _, everything = waiting.issuer.get("/api/v1/issuer/statement-lines/")
    assert queue["results"] == []
    assert sorted(q["status"] for q in everything["results"]) == ["dismissed", "matched"]
    assert in_centre("xinjiang", OpenLine.objects.count) == 0
    # Each decision is on record: who, what, why; the refused attempts left none.
    decisions = in_centre(
        "xinjiang",
        lambda: sorted(
            StatementLineEvent.objects.filter(line_id__in=ids.values()).values_list(
                "action", "order_number", "reason", "actor_kind"
            )
        ),
    )
    assert decisions == [("assigned", waiting.number, "", "issuer"), ("dismissed", "", "非保费来款", "issuer")]


def test_a_line_is_matched_only_in_its_own_centre() -> None:
    """A Benxi statement line carrying a Xinjiang order's remark code touches nothing in Xinjiang."""
    waiting = xinjiang_waiting()

    def run() -> Any:
        statement_lines_store(
            issuer_code="zijin",
            account_number="2100000000000000001",
            lines=[line(waiting)],
            source="command",
            actor=Actor.system(),
        )
        statement_lines_match()
        return list(StatementLine.objects.values_list("status", flat=True))

    assert in_centre("benxi", run) == ["unmatched"]
    assert money_of(waiting) == ("awaiting_payment", [], [])


def test_payment_to_an_expired_order_is_refused_and_refunded() -> None:
    from baohan.payments.services.deadlines import orders_expire

    waiting = xinjiang_waiting()
    with tenant_context(tenant("xinjiang")):
        Section.objects.filter(code=waiting.section).update(deposit_deadline=timezone.now() - timedelta(minutes=10))
        assert orders_expire() == 1
        assert orders_expire() == 0
    connection.set_schema_to_public()
    assert settle(waiting, line(waiting, at=timezone.now())) == {"refused": 1}
    state, payments, payouts = money_of(waiting)
    assert (state, payments[0][1], payouts[0][0]) == ("cancelled", "order_not_payable", "refused")


# --- the bank's push -----------------------------------------------------------------------------------


SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret-42"


def push(waiting: Waiting, body: dict[str, Any], *, nonce: str, ts: int | None = None, secret: str = SECRET) -> Any:
    raw = json.dumps(body).encode()
    stamp = str(ts if ts is not None else int(time.time()))
    digest = hashlib.sha256(raw).hexdigest()
    signature = hmac.new(secret.encode(), f"{stamp}\n{nonce}\n{digest}".encode(), hashlib.sha256).hexdigest()
    return waiting.issuer.client.post(
        "/api/v1/bank/statement-lines",
        raw,
        content_type="application/json",
        HTTP_AUTHORIZATION="",
        HTTP_X_BANK_KEY="bank-1",
        HTTP_X_BANK_TIMESTAMP=stamp,
        HTTP_X_BANK_NONCE=nonce,
        HTTP_X_BANK_SIGNATURE=signature,
    )


def test_a_bank_pushes_signed_lines_and_replays_are_refused(django_capture_on_commit_callbacks: Any) -> None:
    waiting = xinjiang_waiting()
    in_centre(
        "xinjiang", bank_push_key_set, key_id="bank-1", issuer_code="guoren", account_number=ACCOUNT, secret=SECRET
    )
    enterprise = waiting.operator.enterprise
    body = {
        "lines": [
            {
                "reference": "PUSH-0001",
                "booked_at": timezone.now().isoformat(),
                "amount": str(waiting.payable),
                "payer_name": enterprise.basic_account_name,
                "payer_account": enterprise.basic_account_number,
                "remark": f"附言 {waiting.remark_code}",
            }
        ]
    }
    assert push(waiting, body, nonce="n1", secret="wrong-secret-wrong-secret-wrong-1").status_code == 403
    assert push(waiting, body, nonce="n2", ts=int(time.time()) - 301).status_code == 403
    assert push(waiting, body, nonce="n3", ts=int(time.time()) + 301).status_code == 403
    assert in_centre("xinjiang", lambda: StatementLine.objects.count()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = push(waiting, body, nonce="n4")
    assert (response.status_code, response.json()["lines_new"]) == (201, 1)
    replay = push(waiting, body, nonce="n4")
    assert (replay.status_code, replay.json()["code"]) == (409, "replayed_request")
    again = push(waiting, body, nonce="n5")  # the same line under a fresh nonce: stored once
    assert (again.status_code, again.json()["lines_new"]) == (201, 0)
    bad = push(waiting, {"lines": [{**body["lines"][0], "amount": "-1"}]}, nonce="n6")
    assert (bad.status_code, bad.json()["field"]) == (400, "lines.0.amount")
    assert money_of(waiting)[0] == "awaiting_issue"


# --- the ledger check ----------------------------------------------------------------------------------


def test_the_ledger_check_reports_an_order_that_does_not_balance() -> None:
    waiting = xinjiang_waiting()
    settle(waiting, line(waiting, amount=waiting.payable + 1))
    out = io.StringIO()
    call_command("ledger_check", "xinjiang", stdout=out)
    assert "xinjiang: ledger balances" in out.getvalue()
    with tenant_context(tenant("xinjiang")):
        payment = Payment.objects.get(order__number=waiting.number)
        # A movement that does not balance is refused by the database itself...
        with pytest.raises(IntegrityError, match="ledger_movement_balances"), transaction.atomic():
            LedgerEntry.objects.create(payment=payment, kind="refund_paid", cash=Decimal("-1.00"))
        # ... as is one that records no payment or payout...
        with pytest.raises(IntegrityError, match="ledger_movement_recorded"), transaction.atomic():
            LedgerEntry.objects.create(kind="refund_paid", cash=Decimal("-1.00"), refunds_due=Decimal("1.00"))
        # ... and one that balances but pays back money no payout says was paid is reported.
        LedgerEntry.objects.create(
            payment=payment, kind="refund_paid", cash=Decimal("-1.00"), refunds_due=Decimal("1.00")
        )
    connection.set_schema_to_public()
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 order"):
        call_command("ledger_check", "xinjiang", stdout=out)
    assert f"order {waiting.number}" in out.getvalue()
    assert "refunds due differ from open payouts" in out.getvalue()
    assert "cash differs from money received less money paid back" in out.getvalue()


def test_the_import_command_reads_a_file_and_names_a_bad_row(tmp_path: Any) -> None:
    waiting = xinjiang_waiting()
    path = tmp_path / "statement.csv"
    path.write_bytes(statement_csv([line(waiting)]))
    out = io.StringIO()
    call_command("import_statement", "xinjiang", "guoren", str(path), stdout=out)
    assert "1 line(s) read, 1 new" in out.getvalue()
    call_command("import_statement", "xinjiang", "guoren", str(path), stdout=out)
    assert "1 line(s) read, 0 new, 1 seen before" in out.getvalue()
    path.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(CommandError, match="对账单无法读取"):
        call_command("import_statement", "xinjiang", "guoren", str(path))
    with pytest.raises(CommandError, match="不在本中心"):
        call_command("import_statement", "xinjiang", "nobody", str(path))
    assert in_centre("xinjiang", lambda: Payment.objects.count() + Payout.objects.count()) == 0
