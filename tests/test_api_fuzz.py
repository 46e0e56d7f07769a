"""Schemathesis against ``/api/v1/schema/`` on a centre's host: no request, valid or not, gets a 5xx.

In-process (the WSGI app, in this thread, inside the test's transaction), one test per kind of
caller (bidder, centre, issuer) over the operations it may use: each gets schemathesis' coverage
phase (boundary values, wrong types, missing fields, bad content types) and its fuzzing phase
(Hypothesis, positive and negative data). A fourth, anonymous, fuzzes every operation with missing
or bogus credentials. Path parameters are generated or taken from seeded rows — orders in every state, a refund,
an invoice, an after-sales request — so handlers get past their lookups. Every request runs in a
savepoint rolled back afterwards: each case sees the seeded rows as they were, and none can leave
the transaction aborted for the next.
"""

from __future__ import annotations

import logging
import re
import sys
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
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import status_code_conformance

from baohan.guarantees.models import Order
from tests.api import Api, bidder_api, centre_api, issuer_api, png_bytes, section_payload, sms_code, tenant

pytestmark = pytest.mark.django_db

CENTRE = "xinjiang"
ISSUER = "guoren"
BASE_URL = f"http://{CENTRE}.localhost"
FUZZ_EXAMPLES = 20  # per operation, on top of the coverage phase
ANONYMOUS_EXAMPLES = 5


def documented_status_code(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Schemathesis' ``status_code_conformance``, except for 415: schemathesis sends raw multipart
    payloads without a ``Content-Type``, which DRF rightly refuses, and no operation lists 415."""
    if response.status_code == 415:
        return None
    return status_code_conformance(ctx, response, case)


CHECKS = [not_a_server_error, documented_status_code]

# The operations each caller may use, by path; the anonymous caller tries them all.
CALLERS: dict[str, Callable[[str], bool]] = {
    "bidder": lambda path: not path.startswith(("/api/v1/centre/", "/api/v1/issuer/")),
    "centre": lambda path: path.startswith("/api/v1/centre/"),
    "issuer": lambda path: path.startswith("/api/v1/issuer/"),
    "anonymous": lambda path: True,
}
BOGUS_AUTHORIZATION = ["", "Token", "Token nope", "Bearer", "Bearer .", "Bearer nope", "Bearer nope.nope", "Basic Og=="]


@dataclass
class Seeded:
    """Each caller's ``Authorization`` header, real values for path parameters, the orders' states."""

    authorization: dict[str, str] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)
    guarantees: list[str] = field(default_factory=list)
    invoices: list[int] = field(default_factory=list)
    after_sales: list[int] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)

    def path_values(self, path: str) -> dict[str, list[Any]]:
        """Real values for the path parameters of ``path`` (a template), if there are any."""
        rules: list[tuple[str, str, list[Any]]] = [
            (r"^/api/v1/(issuer/)?orders/\{number\}", "number", self.orders),
            (r"^/api/v1/(issuer/)?refunds/\{number\}", "number", self.refunds),
            (r"^/api/v1/(centre/)?sections/\{code\}", "code", self.sections),
            (r"^/api/v1/centre/guarantees/\{number\}", "number", self.guarantees),
            (r"^/api/v1/issuer/invoices/\{invoice_id\}", "invoice_id", self.invoices),
            (r"^/api/v1/issuer/after-sales/\{request_id\}", "request_id", self.after_sales),
            (r"^/api/v1/orders/\{number\}/documents/\{kind\}", "kind", ["policy", "policy_encrypted"]),
        ]
        return {name: values for pattern, name, values in rules if re.match(pattern, path) and values}


def _ok(response: tuple[int, Any], expected: int = 200) -> Any:
    status, body = response
    assert status == expected, body
    return body


def _order(
    *, code: str, until: str, centre: Api, issuer: Api, bidder: Api, operator: Any, upload: str
) -> dict[str, Any]:
    """An order on a new section ``code``, taken as far as ``until`` along the happy path."""
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
        "sms_code": sms_code(bidder, "xinjiang", operator.phone, "application"),
    }
    request = {"section": code, "deposit_kind": "bid", "issuer_kind": "insurer", "issuer_codes": [ISSUER], "form": form}
    order = _ok(bidder.post("/api/v1/orders/", request), 201)
    path = f"/api/v1/orders/{order['number']}"
    issuer_path = f"/api/v1/issuer/orders/{order['number']}"
    steps: dict[str, Callable[[], tuple[int, Any]]] = {
        "underwriting": lambda: bidder.post(f"{path}/submit", {"consents": ["notice_and_clauses_read"]}),
        "awaiting_payment": lambda: issuer.post(f"{issuer_path}/decision", {"approve": True}),
        "awaiting_issue": lambda: issuer.post(
            f"{issuer_path}/payment", {"outcome": "confirmed", "amount": order["payment"]["payable_amount"]}
        ),
        "issued": lambda: issuer.post(f"{issuer_path}/issue", {}),
    }
    for state, step in steps.items():
        if order["state"] == until:
            break
        order = _ok(step())
        assert order["state"] == state, order
    assert order["state"] == until, order
    return order


def _order_states(numbers: list[str]) -> dict[str, str]:
    with tenant_context(tenant(CENTRE)):
        states = dict(Order.objects.filter(number__in=numbers).values_list("number", "state"))
    connection.set_schema_to_public()
    return states


def _seed() -> Seeded:
    """Orders in every state of the happy path, a refund, an invoice and an after-sales request."""
    centre = centre_api(CENTRE)
    issuer = issuer_api(CENTRE, ISSUER)
    bidder, operator = bidder_api(CENTRE)
    upload = _ok(bidder.upload("/api/v1/uploads", "account_permit", "permit.png", png_bytes()), 201)["id"]
    parties = {"centre": centre, "issuer": issuer, "bidder": bidder, "operator": operator, "upload": upload}

    states = ["draft", "underwriting", "awaiting_payment", "awaiting_issue", "issued"]
    sections = [f"FUZZ-{state}" for state in states]
    orders = [_order(code=code, until=state, **parties) for code, state in zip(sections, states, strict=True)]
    issued = orders[-1]
    # Refunds before the bid opening, on a section of its own; invoices only once the bid is opened.
    sections.append("FUZZ-refund")
    orders.append(refunding := _order(code=sections[-1], until="issued", **parties))
    refund = _ok(bidder.post(f"/api/v1/orders/{refunding['number']}/refund", {"reason": "放弃投标"}), 201)
    _ok(centre.post("/api/v1/centre/sections/FUZZ-issued/events", {"kind": "opened", "event_id": "fuzz-1"}), 201)
    title = {"title": operator.enterprise.name, "taxpayer_id": operator.enterprise.uscc}
    invoice = _ok(
        bidder.post(
            f"/api/v1/orders/{issued['number']}/invoice", {"form": "electronic", "type": "vat_general", **title}
        ),
        201,
    )
    after_sales = _ok(
        bidder.post(
            f"/api/v1/orders/{issued['number']}/after-sales", {"category": "paid_not_issued", "description": "未出函"}
        ),
        201,
    )
    seeded = Seeded(
        authorization={
            kind: api.client.defaults["HTTP_AUTHORIZATION"]
            for kind, api in (("bidder", bidder), ("centre", centre), ("issuer", issuer))
        },
        sections=sections,
        orders=[o["number"] for o in orders],
        refunds=[refund["number"]],
        guarantees=[issued["guarantee_number"], refunding["guarantee_number"]],
        invoices=[invoice["id"]],
        after_sales=[after_sales["id"]],
    )
    seeded.states = _order_states(seeded.orders)
    return seeded


@dataclass
class Server:
    """The app as schemathesis calls it, and the last exception Django turned into a 500."""

    app: Any
    error: str = ""
    cause: str = ""

    def record(self, sender: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        assert error is not None
        # The application's own frames tell where; Django's and DRF's are the same every time.
        frames = [f for f in traceback.extract_tb(error.__traceback__) if "site-packages" not in f.filename]
        self.error = "".join(traceback.format_list(frames) + traceback.format_exception_only(error))
        where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
        self.cause = f"{where}{type(error).__name__}"


@contextmanager
def in_process_server() -> Iterator[Server]:
    """Django's WSGI handler inside this test's transaction. As with Django's test client,
    requests must not close the connection (that would end the transaction)."""
    server = Server(get_wsgi_application())
    request_logger = logging.getLogger("django.request")
    level = request_logger.level
    request_logger.setLevel(logging.ERROR)  # thousands of 4xx warnings; 500s still get logged
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    got_request_exception.connect(server.record)
    try:
        yield server
    finally:
        got_request_exception.disconnect(server.record)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        request_logger.setLevel(level)
        connection.set_schema_to_public()


@dataclass
class Run:
    """Sends one caller's cases and keeps the first failure of each kind per operation."""

    server: Server
    base_url: str
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    cases: int = 0

    def send(self, case: Case, authorization: str) -> None:
        """One request, in a savepoint rolled back afterwards; raises if a check fails."""
        headers = {"Authorization": authorization} if authorization else {}
        self.server.error = self.server.cause = ""
        self.cases += 1
        with transaction.atomic():
            response = case.call(base_url=self.base_url, headers=headers)
            transaction.set_rollback(True)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as failure:
            if self.server.error:
                failure.add_note(f"Server traceback (application frames):\n{self.server.error}")
            raise

    def keep(self, operation: APIOperation, failure: FailureGroup) -> None:
        cause = self.server.cause or ", ".join(sorted({type(f).__name__ for f in failure.exceptions}))
        notes = "\n".join(getattr(failure, "__notes__", []))
        self.failures.setdefault((operation.label, cause), f"{operation.label} — {cause}\n{failure}\n{notes}")


def _with_real_path(case: Case, real: dict[str, list[Any]], index: int) -> Case:
    """``case`` with seeded path parameters, unless the case is about its path parameters."""
    data = case.meta.phase.data if case.meta is not None else None
    if real and getattr(data, "parameter_location", None) != "path":
        case.path_parameters = {name: values[index % len(values)] for name, values in real.items()}
    return case


def _coverage(run: Run, operation: APIOperation, real: dict[str, list[Any]], authorization: str) -> None:
    """Schemathesis' coverage phase for ``operation``: every case, sent once."""
    schema = operation.schema
    config = schema.config.generation_for(operation=operation, phase="coverage")
    cases = schema.iter_coverage_cases(operation, generation_modes=list(GenerationMode), generation_config=config)
    for index, case in enumerate(cases):
        try:
            run.send(_with_real_path(case, real, index), authorization)
        except FailureGroup as failure:
            run.keep(operation, failure)


def _fuzzing(
    run: Run,
    operation: APIOperation,
    real: dict[str, list[Any]],
    authorization: st.SearchStrategy[str],
    modes: list[GenerationMode],
    max_examples: int,
) -> None:
    """Schemathesis' fuzzing phase for ``operation``: Hypothesis, half the time on seeded path parameters."""
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    if real:
        seeded = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in real.items()})
        strategies += [
            seeded.flatmap(lambda fixed, mode=mode: operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            for mode in modes
        ]

    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(case=st.one_of(strategies), authorization=authorization)
    def fuzz(case: Case, authorization: str) -> None:
        run.send(case, authorization)

    try:
        fuzz()
    except FailureGroup as failure:
        run.keep(operation, failure)


@pytest.mark.parametrize("caller", list(CALLERS))
def test_api_answers_no_request_with_a_server_error(caller: str) -> None:
    seeded = _seed()
    with in_process_server() as server:
        schema = schemathesis.openapi.from_wsgi(
            "/api/v1/schema/", server.app, base_url=BASE_URL, config=schemathesis.Config(seed=0)
        )
        operations = [result.ok() for result in schema.get_all_operations()]
        operations = [operation for operation in operations if CALLERS[caller](operation.path)]
        assert operations
        run = Run(server, BASE_URL)
        # A real key id with the wrong secret, on top of malformed and unknown credentials.
        bogus = [*BOGUS_AUTHORIZATION, seeded.authorization["centre"].rsplit(".", 1)[0] + ".wrong"]
        for operation in operations:
            real = seeded.path_values(operation.path)
            if caller == "anonymous":
                _fuzzing(run, operation, real, st.sampled_from(bogus), [GenerationMode.POSITIVE], ANONYMOUS_EXAMPLES)
                continue
            authorization = seeded.authorization[caller]
            _coverage(run, operation, real, authorization)
            _fuzzing(run, operation, real, st.just(authorization), list(GenerationMode), FUZZ_EXAMPLES)
    print(f"{caller}: {len(operations)} operations, {run.cases} requests")
    assert run.cases >= len(operations)
    # Every request was rolled back: the seeded orders are as they were.
    assert _order_states(list(seeded.states)) == seeded.states
    if run.failures:
        pytest.fail(f"{len(run.failures)} failure(s):\n\n" + "\n\n".join(run.failures.values()), pytrace=False)
