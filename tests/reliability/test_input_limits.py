"""Input limits: every JSON endpoint answers deep, huge and malformed bodies with a 400 in the one
error shape (never a 5xx), and a body in any charset but UTF-8 with a 415 (so no encoding hides its
depth), and every number that comes in (API, pack forms, workbench and console forms, statement
files) is ASCII digits, amounts with at most two decimals; a refusal names the field and changes
nothing."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import RequestFactory
from django_tenants.utils import tenant_context
from rest_framework.exceptions import ParseError

from baohan.billing.forms import PlanForm
from baohan.console.forms_credentials import OverlapForm
from baohan.guarantees.api.parsers import StrictJSONParser, _has_nul
from baohan.guarantees.errors import InvalidInput
from baohan.guarantees.numbers import NumberRefused, amount_parse, decimal_parse, integer_parse
from baohan.identity.services.integrations import sms_settings_set
from baohan.issuerdesk import views as desk_views
from baohan.ops.inputs import json_depth
from baohan.payments.api import PushInput
from baohan.payments.statements import StatementError
from baohan.payments.statements import _amount as statement_amount
from baohan.sections.models import Section
from tests.api import Api, bidder_api, centre_api, issuer_api, section_payload, tenant
from tests.money import benxi_like_waiting
from tests.test_api_permissions import benxi_order, snapshot
from tests.test_scenario_benxi import benxi_form

pytestmark = pytest.mark.django_db

CENTRE = "benxi"
HOST = f"{CENTRE}.localhost"
BODY_METHODS = ("post", "put", "patch")
# JSON endpoints outside the OpenAPI schema (pages' own JSON calls).
NON_API_JSON = [("post", "/login/ca/"), ("post", "/api/v1/stripe/webhook")]
FULLWIDTH = ["１０００", "１０００.００", "1000.０", "١٠٠٠", "৪০"]  # fullwidth, Arabic-Indic, Bengali digits
TOO_PRECISE = ["1000.001", "0.125", 1000.005]
NOT_NUMBERS = ["1e3", "NaN", "Infinity", "-Infinity", "0x10", "1_000", "1,000", " ", ".", "+5"]


def _deep_array(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def _deep_object(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def _deep_disguised(levels: int) -> str:
    """Nested ``levels`` deep, with strings whose UTF-16/UTF-32 bytes include stray quote and ``]`` bytes:
    a byte-level scan of that encoding sees almost no nesting."""
    return '["\u2241\u5d41\u2241",' * levels + "0" + "]" * levels


MALFORMED = [
    b"{",
    b'{"a": ',
    b"[1,]",
    b"{'a': 1}",
    b"NaN",
    b'{"a": Infinity}',
    b"\xff\xfe\x00{",
    b'{"a": "\\ud800"}',  # a lone surrogate: no text PostgreSQL can store
    b'{"a": "\\u0000"}',
    b'{"a": 1e999999}',
    b"\x00",
    b"null",
    b"[]",
    b'"text"',
    b"12",
    b"true",
]


@pytest.fixture(scope="module")
def operations(django_db_setup: None, django_db_blocker: Any) -> list[tuple[str, str]]:
    """(method, path) of every operation of the API's own OpenAPI schema that takes a JSON body."""
    with django_db_blocker.unblock():
        response = Api(HOST).client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    found = []
    for path, item in schema["paths"].items():
        for method in BODY_METHODS:
            content = (item.get(method) or {}).get("requestBody", {}).get("content", {})
            if "application/json" in content:
                concrete = path.replace("{", "").replace("}", "")  # /orders/{number} -> /orders/number
                concrete = concrete.replace("line_id", "1").replace("voucher_id", "1").replace("evidence_id", "1")
                found.append((method, concrete))
    return found


def _callers() -> Iterator[Api]:
    """Anonymous, then a bidder, the centre and an issuer: the body is parsed past each one's checks."""
    yield Api(HOST)
    yield bidder_api(CENTRE)[0]
    yield centre_api(CENTRE)
    yield issuer_api(CENTRE, "zijin")


def _send(api: Api, method: str, path: str, body: bytes, charset: str = "") -> Any:
    """The body's bytes as they are (the test client would re-encode them for a declared charset)."""
    content_type = f"application/json; charset={charset}" if charset else "application/json"
    return api.client.generic(method.upper(), path, body, content_type=content_type)


def test_json_depth_is_measured_without_recursion() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}], "c": "\\"]]]"}') == 3
    assert json_depth(b"1") == 0
    assert json_depth(_deep_array(100_000)) == 100_000
    assert json_depth(b"]]]]") == 0


def test_every_json_endpoint_refuses_deep_huge_and_malformed_bodies_with_a_400(
    operations: list[tuple[str, str]],
) -> None:
    targets = operations + NON_API_JSON
    assert len(operations) >= 30, operations  # the whole API, not a handful
    assert ("post", "/api/v1/quote") in operations
    limit = settings.BAOHAN_JSON_MAX_BYTES
    depth = settings.BAOHAN_JSON_MAX_DEPTH
    deep = [_deep_array(10_000), _deep_object(10_000), _deep_array(depth + 1), _deep_object(depth + 1)]
    huge = b'{"a": "' + b"x" * limit + b'"}'
    before = snapshot(CENTRE)
    sent = server_errors = 0
    refused: dict[str, int] = {}
    callers = list(_callers())
    for method, path in targets:
        for body in deep:
            for api in callers[:2]:
                response = _send(api, method, path, body)
                sent += 1
                assert (response.status_code, response.json()["code"]) == (400, "too_deep"), (method, path)
                refused["too_deep"] = refused.get("too_deep", 0) + 1
        response = _send(callers[1], method, path, huge)
        sent += 1
        assert (response.status_code, response.json()["code"]) == (400, "body_too_large"), (method, path)
        error = response.json()
        assert set(error) == {"code", "message", "field", "label"}
        assert error["message"]
        for body in MALFORMED:
            for api in callers:
                response = _send(api, method, path, body)
                sent += 1
                server_errors += response.status_code >= 500
                assert response.status_code < 500, (method, path, body, response.content[:300])
    assert server_errors == 0
    assert sent >= len(targets) * (len(deep) * 2 + 1 + len(MALFORMED) * 4)
    assert snapshot(CENTRE) == before


def test_malformed_json_is_a_400_with_a_code() -> None:
    bidder, _ = bidder_api(CENTRE)
    for body in (b"{", b"[1,]", b"{'a': 1}", b"NaN", b"\xff\xfe", b'{"a": 1} x'):
        response = _send(bidder, "post", "/api/v1/quote", body)
        assert response.status_code == 400, body
        assert response.json()["code"] == "malformed", (body, response.json())
    # Under the limits, a body is read as usual.
    response = _send(bidder, "post", "/api/v1/quote", _deep_object(settings.BAOHAN_JSON_MAX_DEPTH - 1))
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read() -> None:
    response = Api(HOST).client.generic(
        "POST",
        "/api/v1/quote",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(settings.BAOHAN_JSON_MAX_BYTES + 1),
    )
    assert (response.status_code, response.json()["code"]) == (400, "body_too_large")


def _deep_in(encoding: str, levels: int) -> list[bytes]:
    return [_deep_array(levels).decode().encode(encoding), _deep_disguised(levels).encode(encoding)]


def test_a_json_body_in_another_charset_is_refused_before_any_parser(operations: list[tuple[str, str]]) -> None:
    targets = operations + NON_API_JSON
    depth = settings.BAOHAN_JSON_MAX_DEPTH
    assert all(json_depth(body) <= depth for body in _deep_in("utf-16", 10_000)[1:] + _deep_in("utf-32", 10_000)[1:])
    before = snapshot(CENTRE)
    bidder = bidder_api(CENTRE)[0]
    callers = [Api(HOST), bidder]
    for charset in ("utf-16", "utf-32", "UTF-16BE", "utf-32le"):
        bodies = [*_deep_in(charset, 10_000), *_deep_in(charset, 500), *_deep_in(charset, depth + 1)]
        bodies.append(b'{"section": "X"}'.decode().encode(charset))
        for method, path in targets:
            for body in bodies:
                for api in callers:
                    response = _send(api, method, path, body, charset=charset)
                    assert response.status_code == 415, (charset, method, path, response.content[:300])
                    error = response.json()
                    assert set(error) == {"code", "message", "field", "label"}
                    assert error["code"] == "unsupported_charset"
                    assert "UTF-8" in error["message"]
    for charset in ("latin-1", "utf-7", "cp037", "no-such-charset", '"utf-16"', "utf-8-sig"):
        response = _send(bidder, "post", "/api/v1/quote", _deep_array(10_000), charset=charset)
        assert (response.status_code, response.json()["code"]) == (415, "unsupported_charset"), charset
    assert snapshot(CENTRE) == before


def test_a_json_body_is_read_as_utf8_whatever_its_bytes_suggest() -> None:
    bidder, _ = bidder_api(CENTRE)
    before = snapshot(CENTRE)
    # Not declared, yet UTF-16 or UTF-32 (with or without a byte order mark): not UTF-8 JSON.
    for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        for body in (*_deep_in(encoding, 10_000), *_deep_in(encoding, 500), b"{}".decode().encode(encoding)):
            for path in ("/api/v1/quote", "/login/ca/", "/api/v1/stripe/webhook"):
                response = _send(bidder, "post", path, body)
                assert (response.status_code, response.json()["code"]) == (400, "malformed"), (encoding, path)
    # A UTF-8 byte order mark hides nothing from the depth limit.
    for body in (_deep_array(10_000), _deep_disguised(10_000).encode(), _deep_object(500)):
        response = _send(bidder, "post", "/api/v1/quote", b"\xef\xbb\xbf" + body)
        assert (response.status_code, response.json()["code"]) == (400, "too_deep")
    assert json_depth(_deep_disguised(10_000).encode()) == 10_000
    assert snapshot(CENTRE) == before
    # UTF-8, however it is spelled, is read as usual.
    shallow = _deep_object(settings.BAOHAN_JSON_MAX_DEPTH - 1)
    for charset in ("utf-8", "UTF-8", "utf8", '"utf-8"'):
        response = _send(bidder, "post", "/api/v1/quote", shallow, charset=charset)
        assert (response.status_code, response.json()["code"]) == (400, "invalid"), charset


def _nested(levels: int, leaf: Any) -> Any:
    value = leaf
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def test_the_parsers_nul_check_takes_any_depth() -> None:
    for levels in (1, 5_000, 200_000):
        assert _has_nul(_nested(levels, "a\x00b"))
        assert not _has_nul(_nested(levels, "ab"))
        assert _has_nul(_nested(levels, {"ke\x00y": 1}))
        assert _has_nul([_nested(levels, 1), _nested(levels, ("x", 1)), "\x00"])
    assert not _has_nul({"a": [1, 2.5, None, True, {"b": "c"}], "d": ""})
    parser = StrictJSONParser()
    for levels in (400, 800, 100_000):
        body = _deep_array(levels)[:levels] + b'"\\u0000"' + _deep_array(levels)[levels:]
        with pytest.raises(ParseError):
            parser.parse(io.BytesIO(body), "application/json", {})
    assert parser.parse(io.BytesIO(_deep_array(400)), "application/json", {}) is not None


def test_sms_templates_nested_too_deep_are_refused() -> None:
    with tenant_context(tenant(CENTRE)):
        for templates in ("[" * 100_000 + "]" * 100_000, '{"verification_code": ' + "[" * 5_000 + "]" * 5_000 + "}"):
            with pytest.raises(InvalidInput) as refused:
                sms_settings_set(
                    provider="aliyun", key_id="id", key_secret="secret", sign_name="签名", templates=templates
                )
            assert (refused.value.code, refused.value.field) == ("templates_invalid", "templates")
            assert "嵌套过深" in refused.value.message
    connection.set_schema_to_public()


# --- numbers -------------------------------------------------------------------------------------------


def test_one_parser_takes_ascii_digits_only() -> None:
    assert decimal_parse("1000") == Decimal("1000")
    assert decimal_parse(" 1000.5 ") == Decimal("1000.5")
    assert decimal_parse(1000.25) == Decimal("1000.25")
    assert decimal_parse(Decimal("0.10")) == Decimal("0.10")
    assert integer_parse("365") == 365
    assert integer_parse(30.0) == 30
    assert amount_parse("10000", field="amount") == Decimal("10000.00")
    for raw in FULLWIDTH:
        with pytest.raises(NumberRefused) as refused:
            decimal_parse(raw)
        assert refused.value.code == "not_ascii", raw
        assert "半角数字" in str(refused.value)
        with pytest.raises(NumberRefused):
            integer_parse(raw)
    for raw in TOO_PRECISE:
        with pytest.raises(NumberRefused) as refused:
            decimal_parse(raw)
        assert refused.value.code == "places", raw
    for raw in [*NOT_NUMBERS, None, True, [], {}, float("nan"), float("inf"), Decimal("NaN")]:
        with pytest.raises(NumberRefused):
            decimal_parse(raw)
    for raw in ("30.0", "３０", "-1"):
        with pytest.raises(NumberRefused):
            integer_parse(raw)
    with pytest.raises(NumberRefused):
        decimal_parse("1" * 13)  # more than the ledger's 12 whole digits
    with pytest.raises(InvalidInput) as error:
        amount_parse("１０００", field="amount", label="索赔金额")
    assert (error.value.field, error.value.label) == ("amount", "索赔金额")
    assert error.value.message.startswith("索赔金额：")


@pytest.mark.parametrize("raw", [*FULLWIDTH, *TOO_PRECISE, "1e3", "NaN", "Infinity"])
def test_a_section_amount_must_be_ascii_with_two_decimals(raw: Any) -> None:
    centre = centre_api(CENTRE)
    code = f"NUM-{abs(hash(str(raw))) % 10**8}"
    status, error = centre.put(f"/api/v1/centre/sections/{code}", section_payload(project_type="housing", amount=raw))
    assert status == 400, error
    assert (error["code"], error["field"]) == ("invalid", "deposit_amount")
    assert "deposit_amount" in error["message"] or "保证金" in error["message"], error
    with tenant_context(tenant(CENTRE)):
        assert not Section.objects.filter(code=code).exists()
    connection.set_schema_to_public()


def test_ascii_amounts_and_days_are_taken_and_fullwidth_days_are_refused() -> None:
    centre = centre_api(CENTRE)
    status, section = centre.put(
        "/api/v1/centre/sections/NUM-OK", section_payload(project_type="housing", amount="12345.60")
    )
    assert status == 201, section
    assert section["deposit_amount"] == "12345.60"
    status, error = centre.put(
        "/api/v1/centre/sections/NUM-DAYS", section_payload(project_type="housing", validity="９０")
    )
    assert (status, error["field"]) == (400, "bid_validity_days"), error
    assert "半角数字" in error["message"]


def test_pack_form_days_must_be_ascii() -> None:
    centre = centre_api(CENTRE)
    centre.put("/api/v1/centre/sections/NUM-FORM", section_payload(project_type="housing", amount="20000.00"))
    bidder, _ = bidder_api(CENTRE)
    before = snapshot(CENTRE)
    for name, raw in (("construction_period_days", "３６５"), ("coverage_days", "１０００"), ("coverage_days", "²")):
        request = {
            "section": "NUM-FORM",
            "deposit_kind": "bid",
            "issuer_kind": "insurer",
            "issuer_codes": ["zijin"],
            "form": {**benxi_form(), name: raw},
        }
        status, error = bidder.post("/api/v1/orders/", request)
        assert status == 400, error
        assert (error["code"], error["field"]) == ("invalid", name)
        assert error["label"]
        assert error["message"].startswith(error["label"])
    assert snapshot(CENTRE) == before


def test_issuer_rate_and_payment_amount_must_be_ascii() -> None:
    centre = centre_api(CENTRE)
    centre.put("/api/v1/centre/sections/NUM-RATE", section_payload(project_type="housing", amount="20000.00"))
    bidder, _ = bidder_api(CENTRE)
    order = benxi_order(bidder, "NUM-RATE", ["zijin"])
    zijin = issuer_api(CENTRE, "zijin")
    before = snapshot(CENTRE)
    for rate in ("０.０３５", "0.0350001", "3e-2"):
        status, error = zijin.post(f"/api/v1/issuer/orders/{order['number']}/decision", {"approve": True, "rate": rate})
        assert (status, error["field"]) == (400, "rate"), error
    assert snapshot(CENTRE) == before

    waiting = benxi_like_waiting(CENTRE)
    before = snapshot(CENTRE)
    for amount in ("１０００", "1000.001", "1e3"):
        status, error = waiting.issuer.post(
            f"/api/v1/issuer/orders/{waiting.number}/payment", {"outcome": "confirmed", "amount": amount}
        )
        assert (status, error["field"]) == (400, "amount"), error
    assert snapshot(CENTRE) == before


def test_bank_push_lines_must_be_ascii_amounts() -> None:
    line = {"reference": "R1", "booked_at": "2026-12-01T10:00:00+08:00", "amount": "350.00"}
    assert PushInput(data={"lines": [line]}).is_valid()
    for amount in ("３５０.００", "350.001", "3.5e2"):
        data = PushInput(data={"lines": [{**line, "amount": amount}]})
        assert not data.is_valid()
        assert "amount" in data.errors["lines"][0]


def test_statement_files_take_ascii_amounts_only() -> None:
    assert statement_amount("1,234.50", row=2, column="贷方金额") == Decimal("1234.50")
    assert statement_amount("¥350元", row=2, column="贷方金额") == Decimal("350.00")
    for raw in ("１２３４.５０", "¥３５０", "1234.567"):
        with pytest.raises(StatementError) as refused:
            statement_amount(raw, row=2, column="贷方金额")
        assert refused.value.column == "贷方金额"


def test_workbench_rate_and_amount_must_be_ascii() -> None:
    factory = RequestFactory()
    assert desk_views._rate(factory.post("/", {"rate": "3.5%"})) == Decimal("0.035")
    assert desk_views._amount(factory.post("/", {"amount": "¥1,000.50"})) == Decimal("1000.50")
    for rate in ("３.５", "3.51234", "1e1"):
        with pytest.raises(InvalidInput) as error:
            desk_views._rate(factory.post("/", {"rate": rate}))
        assert error.value.field == "rate"
    for amount in ("１０００", "1000.001", "1e3"):
        with pytest.raises(InvalidInput) as error:
            desk_views._amount(factory.post("/", {"amount": amount}))
        assert error.value.field == "amount"


def test_console_forms_take_ascii_numbers_only() -> None:
    plan = {"code": "num-test", "name": "测试方案", "monthly_fee": "1000.00"}
    assert PlanForm(data=plan).is_valid()
    for name, raw in (("monthly_fee", "１０００"), ("per_guarantee_fee", "1.005"), ("premium_share", "０.０１")):
        form = PlanForm(data={**plan, name: raw})
        assert not form.is_valid()
        assert name in form.errors, form.errors
    assert OverlapForm(data={"overlap_hours": "24"}).is_valid()
    form = OverlapForm(data={"overlap_hours": "２４"})
    assert not form.is_valid()
    assert "overlap_hours" in form.errors


def test_claim_amounts_are_refused_not_rounded() -> None:
    from baohan.claims.services import _amount as claim_amount

    assert claim_amount("5000") == Decimal("5000.00")
    for raw in ("５０００", "5000.001"):
        with pytest.raises(InvalidInput) as error:
            claim_amount(raw)
        assert error.value.field == "amount"


def test_page_numbers_are_ascii_too() -> None:
    bidder, _ = bidder_api(CENTRE)
    assert bidder.get("/api/v1/orders/", page="1")[0] == 200
    status, error = bidder.get("/api/v1/orders/", page="１")
    assert (status, error["code"]) == (404, "not_found")
    assert "半角数字" in error["message"]
    status, page = bidder.get("/api/v1/orders/", page_size="５")
    assert status == 200
    assert "results" in page
