"""Schemathesis against ``/api/v1/schema/`` on a centre's host: no request, valid or not, gets a 5xx.

Runs in-process (the WSGI app, this thread, this test's transaction) in passes, one per kind of
caller, each over the operations that caller may use, plus an anonymous pass over every operation
with missing or bogus credentials. Path parameters are either generated or taken from seeded rows
(orders in every state, a refund, an invoice, an after-sales request) so handlers get past their
lookups. Every request runs in a savepoint rolled back afterwards: each case sees the seeded data
and no case can leave the transaction aborted for the next.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.api import Api, bidder_api, centre_api, issuer_api, png_bytes, section_payload

pytestmark = pytest.mark.django_db

CENTRE = "xinjiang"
ISSUER = "guoren"
BASE_URL = f"http://{CENTRE}.localhost"
MAX_EXAMPLES = 20
ANONYMOUS_MAX_EXAMPLES = 5
CHECKS = [not_a_server_error, status_code_conformance]

# Which operations each pass covers, by path; the anonymous pass covers them all.
PASSES: dict[str, Callable[[str], bool]] = {
    "bidder": lambda path: not path.startswith(("/api/v1/centre/", "/api/v1/issuer/")),
    "centre": lambda path: path.startswith("/api/v1/centre/"),
    "issuer": lambda path: path.startswith("/api/v1/issuer/"),
}
BOGUS_AUTHORIZATION = ["", "Token", "Token nope", "Bearer", "Bearer .", "Bearer nope", "Bearer nope.nope", "Basic Og=="]


@dataclass
class Seeded:
    """What the fuzzer may put in path parameters, and each caller's ``Authorization`` header."""

    authorization: dict[str, str] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)
    guarantees: list[str] = field(default_factory=list)
    invoices: list[int] = field(default_factory=list)
    after_sales: list[int] = field(default_factory=list)

    def path_values(self, path: str) -> dict[str, list[Any]]:
        """Real values for the path parameters of ``path`` (the template), when there are any."""
        rules: list[tuple[str, str, list[Any]]] = [
            (r"^/api/v1/(issuer/)?orders/\{number\}", "number", self.orders),
            (r"^/api/v1/(issuer/)?refunds/\{number\}", "number", self.refunds),
            (r"^/api/v1/(centre/)?sections/\{code\}", "code", self.sections),
            (r"^/api/v1/centre/guarantees/\{number\}", "number", self.guarantees),
            (r"^/api/v1/issuer/invoices/\{invoice_id\}", "invoice_id", self.invoices),
            (r"^/api/v1/issuer/after-sales/\{request_id\}", "request_id", self.after_sales),
        ]
        return {name: values for pattern, name, values in rules if re.match(pattern, path) and values}


def _ok(response: tuple[int, Any], expected: int = 200) -> Any:
    status, body = response
    assert status == expected, body
    return body


def _order(*, code: str, until: str, centre: Api, issuer: Api, bidder: Api, operator: Any, upload: str) -> dict[str, Any]:
    """An order on its own new section, taken as far as ``until`` along the happy path."""
    _ok(centre.put(f"/api/v1/centre/sections/{code}", section_payload(project_type="construction")), 201)
    form = {
        "project_type": "construction",
        "bid_validity_days": 90,
        "account_name": operator.enterprise.name,
        "bank_name": "中国建设银行乌鲁木齐分行",
        "account_number": operator.enterprise.basic_account_number,
        "account_permit": upload,
        "operator_name": operator.name,
        "operator_phone": operator.phone,
        "captcha": "0532",
        "sms_code": "123456",
    }
    request = {"section": code, "deposit_kind": "bid", "issuer_kind": "insurer", "issuer_codes": [ISSUER], "form": form}
    order = _ok(bidder.post("/api/v1/orders/", request), 201)
    number = order["number"]
    steps: list[tuple[str, Callable[[], tuple[int, Any]]]] = [
        ("underwriting", lambda: bidder.post(f"/api/v1/orders/{number}/submit", {"consents": ["notice_and_clauses_read"]})),
        ("awaiting_payment", lambda: issuer.post(f"/api/v1/issuer/orders/{number}/decision", {"approve": True})),
        (
            "awaiting_issue",
            lambda: issuer.post(
                f"/api/v1/issuer/orders/{number}/payment",
                {"outcome": "confirmed", "amount": order["payment"]["payable_amount"], "reference": "BANK-1"},
            ),
        ),
        ("issued", lambda: issuer.post(f"/api/v1/issuer/orders/{number}/issue", {})),
    ]
    for state, step in steps:
        if order["state"] == until:
            break
        order = _ok(step())
        assert order["state"] == state, order
    assert order["state"] == until, order
    return order


def _seed() -> Seeded:
    """Orders in every state of the happy path, a refund, an invoice and an after-sales request."""
    centre = centre_api(CENTRE)
    issuer = issuer_api(CENTRE, ISSUER)
    bidder, operator = bidder_api(CENTRE)
    seeded = Seeded(
        authorization={
            "bidder": bidder.client.defaults["HTTP_AUTHORIZATION"],
            "centre": centre.client.defaults["HTTP_AUTHORIZATION"],
            "issuer": issuer.client.defaults["HTTP_AUTHORIZATION"],
        }
    )
    upload = _ok(bidder.upload("/api/v1/uploads", "account_permit", "permit.png", png_bytes()), 201)["id"]
    callers = {"centre": centre, "issuer": issuer, "bidder": bidder, "operator": operator, "upload": upload}
    states = ("draft", "underwriting", "awaiting_payment", "awaiting_issue", "issued")
    orders = [_order(code=f"FUZZ-{i}", until=state, **callers) for i, state in enumerate(states)]
    refunding = _order(code="FUZZ-REFUND", until="issued", **callers)
    issued = orders[-1]

    refund = _ok(bidder.post(f"/api/v1/orders/{refunding['number']}/refund", {"reason": "放弃投标"}), 201)
    # Invoices open once the bid is opened (xinjiang's pack); the refunding order's section stays unopened.
    section = issued["section"]["code"] if isinstance(issued["section"], dict) else issued["section"]
    _ok(centre.post(f"/api/v1/centre/sections/{section}/events", {"kind": "opened", "event_id": "fuzz-open"}), 201)
    invoice = {"form": "electronic", "type": "vat_general", "title": operator.enterprise.name}
    invoice["taxpayer_id"] = operator.enterprise.uscc
    invoice_row = _ok(bidder.post(f"/api/v1/orders/{issued['number']}/invoice", invoice), 201)
    after_sales = _ok(
        bidder.post(f"/api/v1/orders/{issued['number']}/after-sales", {"category": "paid_not_issued", "description": "未出函"}),
        201,
    )

    seeded.sections = [f"FUZZ-{i}" for i in range(len(states))] + ["FUZZ-REFUND"]
    seeded.orders = [o["number"] for o in [*orders, refunding]]
    seeded.refunds = [refund["number"]]
    seeded.guarantees = [issued["guarantee_number"], refunding["guarantee_number"]]
    seeded.invoices = [invoice_row["id"]]
    seeded.after_sales = [after_sales["id"]]
    return seeded


@dataclass
class ServerErrors:
    """Tracebacks of the exceptions Django turned into 500s, so a failure shows where it came from."""

    tracebacks: list[str] = field(default_factory=list)

    def record(self, sender: Any, request: Any = None, **kwargs: Any) -> None:
        self.tracebacks.append(traceback.format_exc())


@contextmanager
def in_process_wsgi() -> Iterator[ServerErrors]:
    """The WSGI handler inside this test's transaction: as the Django test client does, requests
    must not close the connection (that would end the transaction), and unhandled exceptions are kept."""
    errors = ServerErrors()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    got_request_exception.connect(errors.record)
    try:
        yield errors
    finally:
        got_request_exception.disconnect(errors.record)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        connection.set_schema_to_public()


def _strategy(operation: Any, seeded: Seeded, modes: list[GenerationMode]) -> st.SearchStrategy[Any]:
    """Cases in each mode, with generated path parameters or, as often, seeded ones."""
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    real = seeded.path_values(operation.path)
    if real:
        combos = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in real.items()})
        strategies += [
            combos.flatmap(lambda fixed, mode=mode: operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            for mode in modes
        ]
    return st.one_of(strategies)


def _fuzz(
    operation: Any,
    strategy: st.SearchStrategy[Any],
    authorization: st.SearchStrategy[str],
    app: Any,
    errors: ServerErrors,
    max_examples: int,
) -> None:
    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(case=strategy, authorization=authorization)
    def run(case: Any, authorization: str) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        errors.tracebacks.clear()
        with transaction.atomic():
            response = case.call(base_url=BASE_URL, headers=headers, app=app)
            transaction.set_rollback(True)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except Exception as exc:
            if errors.tracebacks:
                exc.add_note("Server traceback:\n" + errors.tracebacks[-1])
            raise

    run()


def test_api_answers_no_request_with_a_server_error() -> None:
    seeded = _seed()
    app = get_wsgi_application()
    with in_process_wsgi() as errors:
        schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", app, base_url=BASE_URL)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 40, [o.label for o in operations]

        failures: list[str] = []
        ran = 0
        passes: list[tuple[str, Callable[[str], bool], st.SearchStrategy[str], list[GenerationMode], int]] = [
            (kind, covers, st.just(seeded.authorization[kind]), list(GenerationMode), MAX_EXAMPLES)
            for kind, covers in PASSES.items()
        ]
        bogus = [*BOGUS_AUTHORIZATION, seeded.authorization["centre"].rsplit(".", 1)[0] + ".wrong"]
        passes.append(
            ("anonymous", lambda path: True, st.sampled_from(bogus), [GenerationMode.POSITIVE], ANONYMOUS_MAX_EXAMPLES)
        )
        for kind, covers, authorization, modes, max_examples in passes:
            for operation in operations:
                if not covers(operation.path):
                    continue
                ran += 1
                try:
                    _fuzz(operation, _strategy(operation, seeded, modes), authorization, app, errors, max_examples)
                except Exception as exc:
                    notes = "\n".join(getattr(exc, "__notes__", []))
                    failures.append(f"[{kind}] {operation.label}\n{exc}\n{notes}")
    assert ran >= 80
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)
