"""An in-process fake of the part of the Stripe REST API the platform uses, for tests.

The real stripe-python client talks to it over HTTP, so everything between our code and the wire
(encoding, headers, idempotency keys, error mapping) is exercised; only Stripe's servers are replaced::

    with FakeStripe(api_key="sk_test_x") as fake:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": fake.base_url}, max_network_retries=0)
        session = client.v1.checkout.sessions.create(params={...}, options={"idempotency_key": "..."})
        fake.complete(session.id)  # the customer pays
        client.v1.refunds.create(params={"payment_intent": fake.sessions[session.id]["payment_intent"]})

Implemented: ``POST /v1/checkout/sessions`` (mode=payment, ``price_data`` line items), ``GET
/v1/checkout/sessions/<id>``, ``POST /v1/refunds`` and ``GET /v1/refunds/<id>``; for Stripe Billing,
``POST /v1/customers``, ``POST /v1/invoiceitems`` (``amount``, optionally onto a draft ``invoice``),
``POST /v1/invoices`` (one-off, ``pending_invoice_items_behavior``), ``POST /v1/invoices/<id>/finalize``,
the lists ``GET /v1/invoices``, ``GET /v1/invoiceitems`` and ``GET /v1/customers`` (newest first,
``limit``/``starting_after``) and ``GET`` of each object (state in ``fake.customers``, ``fake.invoices``,
``fake.invoice_items``). Anything else is answered the way Stripe answers an unknown URL, and options the
fake does not model (``expand``, ``line_items[][price]``, an invoice item's ``price_data``, tax, discounts,
other modes) are refused with code ``fake_unsupported`` rather than silently answered wrongly.

It follows the API version stripe-python pins (``stripe.api_version``, sent as ``Stripe-Version``): there
Checkout takes ``allowed_payment_method_types`` / ``excluded_payment_method_types``, and ``payment_method_types``
is an unknown parameter (the response still reports the resulting ``payment_method_types``).

Like Stripe: unknown parameters are refused (``parameter_unknown``), empty strings outside ``metadata`` are
refused (``parameter_invalid_empty``), idempotent POSTs replay the stored result (``Idempotent-Replayed:
true``); results of requests that failed validation or were failed by ``fail_next`` are not stored, so a
retry with the same key runs again.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import stripe
from stripe.params import (
    CustomerCreateParams,
    CustomerListParams,
    InvoiceCreateParams,
    InvoiceFinalizeInvoiceParams,
    InvoiceItemCreateParams,
    InvoiceItemListParams,
    InvoiceListParams,
    RefundCreateParams,
)
from stripe.params.checkout import (
    SessionCreateParams,
    SessionCreateParamsLineItem,
    SessionCreateParamsLineItemPriceData,
    SessionCreateParamsLineItemPriceDataProductData,
)

PAYMENT_METHOD_TYPES = ("card", "alipay", "wechat_pay")
ZERO_DECIMAL_CURRENCIES = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx"})
ZERO_DECIMAL_CURRENCIES |= {"vnd", "vuv", "xaf", "xof", "xpf"}
SESSION_LIFETIME = 24 * 3600
_ALPHANUMERIC = string.ascii_letters + string.digits
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def _keys(typed_dict: Any) -> frozenset[str]:
    """The parameter names stripe-python's own TypedDict declares, minus its request options (api_key, ...)."""
    options = stripe.RequestOptions.__required_keys__ | stripe.RequestOptions.__optional_keys__
    return frozenset(typed_dict.__required_keys__ | typed_dict.__optional_keys__) - options


SESSION_PARAMS = _keys(SessionCreateParams)
LINE_ITEM_PARAMS = _keys(SessionCreateParamsLineItem)
PRICE_DATA_PARAMS = _keys(SessionCreateParamsLineItemPriceData)
PRODUCT_DATA_PARAMS = _keys(SessionCreateParamsLineItemPriceDataProductData)
REFUND_PARAMS = _keys(RefundCreateParams)


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


class RecordedRequest(NamedTuple):
    """One request the fake received; unpacks as ``(method, path, params, headers)``."""

    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


class StripeErrorResponse(Exception):
    """An error answered in Stripe's shape. ``saved``: kept for idempotent replay (Stripe keeps results of
    requests that got past validation and started executing)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        saved: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.saved = saved
        self.body: dict[str, Any] = {"error": {"type": type_, "message": message}}
        if code is not None:
            self.body["error"]["code"] = code
            self.body["error"]["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param is not None:
            self.body["error"]["param"] = param


def _invalid(message: str, param: str | None = None, code: str | None = None) -> StripeErrorResponse:
    return StripeErrorResponse(400, message, code=code, param=param)


def _missing(param: str) -> StripeErrorResponse:
    return _invalid(f"Missing required param: {param}.", param, "parameter_missing")


def _unsupported(what: str) -> StripeErrorResponse:
    return _invalid(f"FakeStripe does not implement {what}; extend tests/fake_stripe.py.", code="fake_unsupported")


# --- Stripe's form encoding -------------------------------------------------------------------------------


def parse_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``a[b][0][c]=1`` → ``{"a": {"b": [{"c": "1"}]}}``. Leaves stay strings, as on the wire."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            raise _invalid(f"Invalid parameter name: {key}")
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part == "":  # legacy ``expand[]=x``
                part = str(sum(1 for k in node if k.isdigit()))
            if last:
                if isinstance(node.get(part), dict):
                    raise _invalid(f"Invalid hash: {key}", key)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise _invalid(f"Invalid hash: {key}", key)
                node = child
    parsed: dict[str, Any] = _listify(root)
    return parsed


def _listify(node: dict[str, Any], name: str = "") -> Any:
    """Turn ``{"0": x, "1": y}`` into ``[x, y]`` (not inside metadata, whose keys are free-form)."""
    if name == "metadata":
        return node
    out = {k: _listify(v, k) if isinstance(v, dict) else v for k, v in node.items()}
    if out and all(k.isdigit() for k in out):
        indices = sorted(out, key=int)
        if [int(i) for i in indices] != list(range(len(indices))):
            raise _invalid(f"Invalid array: {name} has indices {', '.join(indices)}", name)
        return [out[i] for i in indices]
    return out


# --- validation helpers --------------------------------------------------------------------------------------


def _check_unknown(params: Mapping[str, Any], allowed: frozenset[str], prefix: str = "") -> None:
    for key in params:
        if key not in allowed:
            name = f"{prefix}[{key}]" if prefix else key
            raise _invalid(f"Received unknown parameter: {name}", name, "parameter_unknown")


def _check_empty(value: Any, name: str) -> None:
    """Stripe reads ``x=`` as "unset x", which a create call cannot do (metadata values excepted)."""
    if value == "":
        raise _invalid(
            f"You passed an empty string for '{name}'. We assume empty values are an attempt to unset a parameter; "
            f"however '{name}' cannot be unset. You should remove '{name}' from your request or supply a "
            "non-empty value.",
            name,
            "parameter_invalid_empty",
        )
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "metadata":
                _check_empty(item, f"{name}[{key}]" if name else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_empty(item, f"{name}[{index}]")


def _integer(value: Any, name: str, minimum: int | None = None) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise _invalid(f"Invalid integer: {value}", name, "parameter_invalid_integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise _invalid(f"This value must be greater than or equal to {minimum}.", name, "parameter_invalid_integer")
    return number


def _string(params: Mapping[str, Any], key: str, name: str, *, required: bool = False, max_length: int = 5000) -> Any:
    value = params.get(key)
    if value is None:
        if required:
            raise _missing(name)
        return None
    if not isinstance(value, str):
        raise _invalid(f"Invalid string: {name} must be a string", name, "parameter_invalid_string")
    if len(value) > max_length:
        raise _invalid(f"Invalid string: {name} must be at most {max_length} characters", name, "string_too_long")
    return value


def _dict(params: Mapping[str, Any], key: str, name: str) -> dict[str, Any]:
    value = params.get(key, {})
    if not isinstance(value, dict):
        raise _invalid(f"Invalid object: {name} must be a hash", name)
    return value


def _metadata(params: Mapping[str, Any], name: str = "metadata") -> dict[str, str]:
    raw = params.get("metadata", {})
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise _invalid(f"Invalid object: {name} must be a hash", name)
    if len(raw) > 50:
        raise _invalid("Metadata can have up to 50 keys.", name)
    for key, value in raw.items():
        if not isinstance(value, str):
            raise _invalid(f"Invalid value for {name}[{key}]: metadata values must be strings", f"{name}[{key}]")
        if len(key) > 40:
            raise _invalid(f"Metadata keys can have up to 40 characters; {key!r} is too long.", f"{name}[{key}]")
        if len(value) > 500:
            raise _invalid(f"Metadata values can have up to 500 characters; {name}[{key}] is too long.", name)
    return {k: v for k, v in raw.items() if v != ""}


def format_amount(amount: int, currency: str) -> str:
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{currency.upper()} {amount}"
    return f"{currency.upper()} {amount // 100}.{amount % 100:02d}"


# --- Stripe Billing: customers, invoice items, invoices ------------------------------------------------------

CUSTOMER_PARAMS = _keys(CustomerCreateParams)
CUSTOMER_LIST_PARAMS = _keys(CustomerListParams)
INVOICE_PARAMS = _keys(InvoiceCreateParams)
INVOICE_ITEM_PARAMS = _keys(InvoiceItemCreateParams)
FINALIZE_PARAMS = _keys(InvoiceFinalizeInvoiceParams)
INVOICE_LIST_PARAMS = _keys(InvoiceListParams)
INVOICE_ITEM_LIST_PARAMS = _keys(InvoiceItemListParams)
# What the fake models of each; other parameters Stripe knows are refused with ``fake_unsupported``.
CUSTOMER_MODELLED = frozenset({"name", "description", "email", "phone", "metadata", "preferred_locales"})
INVOICE_MODELLED = frozenset(
    {
        "customer",
        "currency",
        "collection_method",
        "days_until_due",
        "auto_advance",
        "description",
        "footer",
        "metadata",
        "pending_invoice_items_behavior",
    }
)
INVOICE_ITEM_MODELLED = frozenset({"customer", "invoice", "amount", "currency", "description", "metadata"})
FINALIZE_MODELLED = frozenset({"auto_advance"})
CUSTOMER_LIST_MODELLED = frozenset({"limit", "starting_after"})
INVOICE_LIST_MODELLED = frozenset({"customer", "status", "collection_method", "limit", "starting_after"})
INVOICE_ITEM_LIST_MODELLED = frozenset({"customer", "invoice", "pending", "limit", "starting_after"})
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")


def _check_modelled(params: Mapping[str, Any], known: frozenset[str], modelled: frozenset[str], what: str) -> None:
    """Unknown to Stripe: ``parameter_unknown``; known to Stripe but not modelled here: ``fake_unsupported``."""
    _check_unknown(params, known)
    for key in params:
        if key not in modelled:
            raise _unsupported(f"{what} {key}")


def _boolean(value: Any, name: str) -> bool:
    if value not in ("true", "false"):
        raise _invalid(f"Invalid boolean: {value}", name)
    return bool(value == "true")


def _currency(params: Mapping[str, Any], name: str = "currency", *, required: bool = False) -> str | None:
    value = _string(params, name, name, required=required)
    if value is None:
        return None
    currency = str(value).lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise _invalid(f"Invalid currency: {value}", name)
    return currency


def _list_page(objects: list[dict[str, Any]], params: Mapping[str, Any], url: str) -> dict[str, Any]:
    """A Stripe list, newest first, ``limit`` (1..100, default 10) after ``starting_after``."""
    limit = _integer(params["limit"], "limit", minimum=1) if "limit" in params else 10
    if limit > 100:
        raise _invalid("This value must be less than or equal to 100.", "limit", "parameter_invalid_integer")
    ordered = list(reversed(objects))
    after = _string(params, "starting_after", "starting_after")
    if after is not None:
        ids = [o["id"] for o in ordered]
        if after not in ids:
            raise _invalid(f"No such object: '{after}'", "starting_after", "resource_missing")
        ordered = ordered[ids.index(after) + 1 :]
    return {
        "object": "list",
        "data": copy.deepcopy(ordered[:limit]),
        "has_more": len(ordered) > limit,
        "url": url,
    }


class _BillingEndpoints:
    """Customers, invoice items and one-off invoices, as Stripe Billing answers them.

    Invoices start as drafts (``auto_advance`` false unless asked) holding the items created with
    ``invoice=<id>`` (or, with ``pending_invoice_items_behavior=include``, the customer's pending items in
    the invoice's currency); finalizing numbers them (``<customer prefix>-0001``), sets the hosted page and,
    for ``send_invoice``, the due date. Items can be added only to drafts; a finalized invoice cannot be
    finalized again. Payment, voiding, tax and discounts are not modelled."""

    default_currency = "usd"
    customers: dict[str, dict[str, Any]]
    invoices: dict[str, dict[str, Any]]
    invoice_items: dict[str, dict[str, Any]]

    def _billing_init(self) -> None:
        self.customers = {}
        self.invoices = {}
        self.invoice_items = {}

    def _billing_route(self, method: str, path: str) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
        if method == "POST" and path == "/v1/customers":
            return self._create_customer
        if method == "POST" and path == "/v1/invoices":
            return self._create_invoice
        if method == "POST" and path == "/v1/invoiceitems":
            return self._create_invoice_item
        if method == "GET" and path == "/v1/customers":
            return self._list_customers
        if method == "GET" and path == "/v1/invoices":
            return self._list_invoices
        if method == "GET" and path == "/v1/invoiceitems":
            return self._list_invoice_items
        if method == "POST" and (match := re.fullmatch(r"/v1/invoices/([^/]+)/finalize", path)):
            invoice_id = match.group(1)
            return lambda params: self._finalize_invoice(params, invoice_id)
        if method != "GET":
            return None
        for pattern, objects, kind in (
            (r"/v1/customers/([^/]+)", self.customers, "customer"),
            (r"/v1/invoices/([^/]+)", self.invoices, "invoice"),
            (r"/v1/invoiceitems/([^/]+)", self.invoice_items, "invoiceitem"),
        ):
            if match := re.fullmatch(pattern, path):
                return functools.partial(_retrieve_object, objects=objects, object_id=match.group(1), kind=kind)
        return None

    # test controls

    def invoice_lines(self, invoice_id: str) -> list[dict[str, Any]]:
        """The invoice's lines: ``[{"amount", "currency", "description", "metadata", ...}]``."""
        return copy.deepcopy(self.invoices[invoice_id]["lines"]["data"])

    # endpoints

    def _customer(self, params: Mapping[str, Any], name: str = "customer") -> dict[str, Any]:
        customer_id = _string(params, "customer", name, required=True)
        if customer_id not in self.customers:
            raise _invalid(f"No such customer: '{customer_id}'", name, "resource_missing")
        return self.customers[customer_id]

    def _create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_modelled(params, CUSTOMER_PARAMS, CUSTOMER_MODELLED, "customers:")
        _check_empty(params, "")
        locales = params.get("preferred_locales", [])
        if not isinstance(locales, list):
            raise _invalid("Invalid array", "preferred_locales")
        customer_id = new_id("cus_", 14)
        customer = {
            "id": customer_id,
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": int(time.time()),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": _string(params, "description", "description") or None,
            "email": _string(params, "email", "email", max_length=512),
            "invoice_prefix": "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8)),
            "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
            "livemode": False,
            "metadata": _metadata(params),
            "name": _string(params, "name", "name", max_length=256),
            "next_invoice_sequence": 1,
            "phone": _string(params, "phone", "phone", max_length=20),
            "preferred_locales": locales,
            "shipping": None,
            "tax_exempt": "none",
        }
        self.customers[customer_id] = customer
        return copy.deepcopy(customer)

    def _create_invoice(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_modelled(params, INVOICE_PARAMS, INVOICE_MODELLED, "invoices:")
        _check_empty(params, "")
        customer = self._customer(params)
        method = params.get("collection_method", "charge_automatically")
        if method not in ("charge_automatically", "send_invoice"):
            raise _invalid("Invalid collection_method: must be one of charge_automatically or send_invoice")
        days = None
        if "days_until_due" in params:
            if method != "send_invoice":
                raise _invalid(
                    "You can only set `days_until_due` if `collection_method` is `send_invoice`.", "days_until_due"
                )
            days = _integer(params["days_until_due"], "days_until_due", minimum=0)
        elif method == "send_invoice":
            raise _invalid(
                "Invoices with `collection_method=send_invoice` need `days_until_due` or `due_date`.", "days_until_due"
            )
        behaviour = params.get("pending_invoice_items_behavior", "exclude")
        if behaviour not in ("include", "exclude"):
            raise _invalid(
                "Invalid pending_invoice_items_behavior: must be one of exclude or include",
                "pending_invoice_items_behavior",
            )
        currency = _currency(params) or customer["currency"] or self.default_currency
        now = int(time.time())
        invoice_id = new_id("in_")
        invoice: dict[str, Any] = {
            "id": invoice_id,
            "object": "invoice",
            "amount_due": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": _boolean(params["auto_advance"], "auto_advance") if "auto_advance" in params else False,
            "billing_reason": "manual",
            "collection_method": method,
            "created": now,
            "currency": currency,
            "customer": customer["id"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "description": _string(params, "description", "description", max_length=1500),
            "due_date": None,
            "footer": _string(params, "footer", "footer"),
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "lines": {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": ""},
            "livemode": False,
            "metadata": _metadata(params),
            "number": None,
            "period_end": now,
            "period_start": now,
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": 0,
            "total": 0,
        }
        invoice["lines"]["url"] = f"/v1/invoices/{invoice_id}/lines"
        invoice["_days_until_due"] = days  # kept for finalization; not part of Stripe's object
        self.invoices[invoice_id] = invoice
        if behaviour == "include":
            for item in self.invoice_items.values():
                pending = item["invoice"] is None and item["customer"] == customer["id"]
                if pending and item["currency"] == currency:
                    self._attach(invoice, item)
        return self._invoice_view(invoice)

    @staticmethod
    def _invoice_view(invoice: Mapping[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in invoice.items() if not k.startswith("_")}

    @staticmethod
    def _attach(invoice: dict[str, Any], item: dict[str, Any]) -> None:
        item["invoice"] = invoice["id"]
        line = {
            "id": new_id("il_"),
            "object": "line_item",
            "amount": item["amount"],
            "currency": item["currency"],
            "description": item["description"],
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": invoice["id"],
            "livemode": False,
            "metadata": copy.deepcopy(item["metadata"]),
            "parent": {
                "type": "invoice_item_details",
                "invoice_item_details": {
                    "invoice_item": item["id"],
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": None,
                },
                "subscription_item_details": None,
            },
            "period": copy.deepcopy(item["period"]),
            "pricing": None,
            "quantity": 1,
        }
        lines = invoice["lines"]
        lines["data"].append(line)
        lines["total_count"] = len(lines["data"])
        total = sum(entry["amount"] for entry in lines["data"])
        invoice.update(subtotal=total, total=total, amount_due=max(total, 0), amount_remaining=max(total, 0))

    def _create_invoice_item(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_modelled(params, INVOICE_ITEM_PARAMS, INVOICE_ITEM_MODELLED, "invoiceitems:")
        _check_empty(params, "")
        customer = self._customer(params)
        if "amount" not in params:
            raise _missing("amount")
        amount = _integer(params["amount"], "amount")
        currency = _currency(params, required=True)
        invoice = None
        invoice_id = _string(params, "invoice", "invoice")
        if invoice_id is not None:
            invoice = self.invoices.get(invoice_id)
            if invoice is None:
                raise _invalid(f"No such invoice: '{invoice_id}'", "invoice", "resource_missing")
            if invoice["customer"] != customer["id"]:
                raise _invalid(
                    f"The invoice {invoice_id} belongs to customer {invoice['customer']}, not {customer['id']}.",
                    "invoice",
                )
            if invoice["status"] != "draft":
                raise _invalid(
                    f"Invoice {invoice_id} is no longer editable: items can only be added to draft invoices.",
                    "invoice",
                    "invoice_not_editable",
                )
            if invoice["currency"] != currency:
                raise _invalid(
                    f"The currency of the invoice item ({currency}) must match the invoice's ({invoice['currency']}).",
                    "currency",
                )
        now = int(time.time())
        item_id = new_id("ii_")
        item: dict[str, Any] = {
            "id": item_id,
            "object": "invoiceitem",
            "amount": amount,
            "currency": currency,
            "customer": customer["id"],
            "date": now,
            "description": _string(params, "description", "description"),
            "discountable": True,
            "discounts": [],
            "invoice": None,
            "livemode": False,
            "metadata": _metadata(params),
            "net_amount": amount,
            "parent": None,
            "period": {"start": now, "end": now},
            "pricing": None,
            "proration": False,
            "quantity": 1,
            "tax_rates": [],
            "test_clock": None,
        }
        self.invoice_items[item_id] = item
        if invoice is not None:
            self._attach(invoice, item)
        return copy.deepcopy(item)

    def _finalize_invoice(self, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
        _check_modelled(params, FINALIZE_PARAMS, FINALIZE_MODELLED, "invoices/finalize:")
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            raise StripeErrorResponse(404, f"No such invoice: '{invoice_id}'", code="resource_missing", param="id")
        if invoice["status"] != "draft":
            raise _invalid("This invoice is already finalized, you can't re-finalize a non-draft invoice.")
        if "auto_advance" in params:
            invoice["auto_advance"] = _boolean(params["auto_advance"], "auto_advance")
        customer = self.customers[invoice["customer"]]
        now = int(time.time())
        invoice["number"] = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
        invoice["status_transitions"]["finalized_at"] = now
        secret = new_id("", 40)
        invoice["hosted_invoice_url"] = f"https://invoice.stripe.com/i/acct_fake/test_{secret}"
        invoice["invoice_pdf"] = f"https://pay.stripe.com/invoice/acct_fake/test_{secret}/pdf"
        if invoice["collection_method"] == "send_invoice":
            invoice["due_date"] = now + 86400 * int(invoice["_days_until_due"] or 0)
        if invoice["amount_due"] == 0:  # nothing to collect: Stripe marks it paid at once
            invoice["status"] = "paid"
            invoice["status_transitions"]["paid_at"] = now
            invoice["auto_advance"] = False
        else:
            invoice["status"] = "open"
        return self._invoice_view(invoice)

    def _list_customers(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_modelled(params, CUSTOMER_LIST_PARAMS, CUSTOMER_LIST_MODELLED, "customers list:")
        return _list_page(list(self.customers.values()), params, "/v1/customers")

    def _list_invoices(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_modelled(params, INVOICE_LIST_PARAMS, INVOICE_LIST_MODELLED, "invoices list:")
        found = [self._invoice_view(i) for i in self.invoices.values()]
        if "customer" in params:
            customer = self._customer(params)
            found = [i for i in found if i["customer"] == customer["id"]]
        if "status" in params:
            if params["status"] not in INVOICE_STATUSES:
                raise _invalid(f"Invalid status: must be one of {', '.join(INVOICE_STATUSES)}", "status")
            found = [i for i in found if i["status"] == params["status"]]
        if "collection_method" in params:
            found = [i for i in found if i["collection_method"] == params["collection_method"]]
        return _list_page(found, params, "/v1/invoices")

    def _list_invoice_items(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_modelled(params, INVOICE_ITEM_LIST_PARAMS, INVOICE_ITEM_LIST_MODELLED, "invoiceitems list:")
        found = list(self.invoice_items.values())
        if "customer" in params:
            customer = self._customer(params)
            found = [i for i in found if i["customer"] == customer["id"]]
        if "invoice" in params:
            found = [i for i in found if i["invoice"] == params["invoice"]]
        if "pending" in params:
            pending = _boolean(params["pending"], "pending")
            found = [i for i in found if (i["invoice"] is None) == pending]
        return _list_page(found, params, "/v1/invoiceitems")


def _retrieve_object(
    params: dict[str, Any], *, objects: Mapping[str, dict[str, Any]], object_id: str, kind: str
) -> dict[str, Any]:
    if "expand" in params:
        raise _unsupported("expand")
    _check_unknown(params, frozenset())
    if object_id not in objects:
        raise StripeErrorResponse(404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id")
    return {k: copy.deepcopy(v) for k, v in objects[object_id].items() if not k.startswith("_")}


# --- the fake ----------------------------------------------------------------------------------------------


class _Stored(NamedTuple):
    path: str
    params: dict[str, Any]
    status: int
    body: dict[str, Any]


class FakeStripe(_BillingEndpoints):
    """A Stripe API on 127.0.0.1:<free port>, served from a daemon thread while the context is open."""

    def __init__(self, api_key: str = "sk_test_fake") -> None:
        if not api_key.startswith(("sk_test_", "rk_test_")):
            raise ValueError("FakeStripe only accepts test-mode keys (sk_test_... / rk_test_...)")
        self.api_key = api_key
        self.refund_status = "succeeded"
        # the methods enabled in the (fake) account's Dashboard, which Checkout offers dynamically
        self.dynamic_payment_method_types: list[str] = list(PAYMENT_METHOD_TYPES)
        self.requests: list[RecordedRequest] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self._billing_init()
        self._idempotency: dict[str, _Stored] = {}
        self._failures: list[tuple[int, str, str]] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeStripe is not running; use `with FakeStripe() as fake:` or fake.start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeStripe:
        if self._server is None:
            server = _Server(("127.0.0.1", 0), _Handler)
            server.fake = self
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-stripe", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # test controls

    def fail_next(
        self, status: int = 500, times: int = 1, *, error_type: str = "api_error", message: str | None = None
    ) -> None:
        """The next ``times`` requests (whatever they are) are answered ``status`` with an ``api_error`` body.
        Nothing is created and nothing is stored for idempotency, so a retry with the same key runs normally."""
        text = message or "An unknown error occurred (injected by FakeStripe.fail_next)."
        with self._lock:
            self._failures.extend([(status, error_type, text)] * times)

    def complete(self, session_id: str, *, payment_method_type: str = "card") -> dict[str, Any]:
        """The customer pays the open session: it becomes paid/complete and gets a payment intent to refund."""
        with self._lock:
            session = self.sessions[session_id]
            if session["status"] != "open":
                raise ValueError(f"session {session_id} is {session['status']}, not open")
            if payment_method_type not in session["payment_method_types"]:
                raise ValueError(f"{payment_method_type!r} is not among {session['payment_method_types']}")
            intent_id = new_id("pi_")
            self.payment_intents[intent_id] = {
                "id": intent_id,
                "amount": session["amount_total"],
                "currency": session["currency"],
                "latest_charge": new_id("ch_"),
                "payment_method_type": payment_method_type,
                "checkout_session": session_id,
            }
            session.update(payment_intent=intent_id, payment_status="paid", status="complete", url=None)
            return copy.deepcopy(session)

    def refunded_amount(self, payment_intent: str) -> int:
        with self._lock:
            return sum(
                r["amount"]
                for r in self.refunds
                if r["payment_intent"] == payment_intent and r["status"] not in ("failed", "canceled")
            )

    # HTTP

    def handle(
        self, method: str, target: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one request: ``(status, json body, extra response headers)``."""
        url = urlsplit(target)
        path = url.path
        raw = body.decode("utf-8", "replace") if method == "POST" else url.query
        header = {name.lower(): value for name, value in headers.items()}  # HTTP header names are case-insensitive
        out_headers = {
            "Request-Id": new_id("req_", 14),
            "Stripe-Version": header.get("stripe-version", stripe.api_version),
        }
        with self._lock:
            try:
                params = parse_form(parse_qsl(raw, keep_blank_values=True))
                parse_error = None
            except StripeErrorResponse as error:
                params, parse_error = {}, error
            self.requests.append(RecordedRequest(method, path, params, headers))
            key = header.get("idempotency-key") if method == "POST" else None
            if key:
                out_headers["Idempotency-Key"] = key
            try:
                if self._failures:
                    status, error_type, message = self._failures.pop(0)
                    raise StripeErrorResponse(status, message, type_=error_type)
                self._authenticate(header.get("authorization"))
                if parse_error is not None:
                    raise parse_error
                route = self._route(method, path)
                if key:
                    stored = self._idempotency.get(key)
                    if stored is not None:
                        self._check_replay(key, stored, path, params)
                        out_headers["Idempotent-Replayed"] = "true"
                        return stored.status, copy.deepcopy(stored.body), out_headers
                try:
                    status, result = 200, route(params)
                except StripeErrorResponse as error:
                    if key and error.saved:
                        self._idempotency[key] = _Stored(path, params, error.status, error.body)
                    raise
                if key:
                    self._idempotency[key] = _Stored(path, params, status, copy.deepcopy(result))
                return status, result, out_headers
            except StripeErrorResponse as error:
                return error.status, error.body, out_headers

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise StripeErrorResponse(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        scheme, _, key = authorization.partition(" ")
        if scheme != "Bearer" or not secrets.compare_digest(key.strip(), self.api_key):
            raise StripeErrorResponse(401, f"Invalid API Key provided: {key.strip()[:8]}****{key.strip()[-4:]}")

    def _route(self, method: str, path: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session
        if method == "POST" and path == "/v1/refunds":
            return self._create_refund
        if method == "GET" and (match := re.fullmatch(r"/v1/checkout/sessions/([^/]+)", path)):
            session_id = match.group(1)
            return lambda params: self._retrieve(params, self.sessions, session_id, "checkout.session", "session")
        if method == "GET" and (match := re.fullmatch(r"/v1/refunds/([^/]+)", path)):
            refunds, refund_id = {r["id"]: r for r in self.refunds}, match.group(1)
            return lambda params: self._retrieve(params, refunds, refund_id, "refund", "refund")
        billing = self._billing_route(method, path)
        if billing is not None:
            return billing
        raise StripeErrorResponse(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
            "https://support.stripe.com/.",
        )

    @staticmethod
    def _check_replay(key: str, stored: _Stored, path: str, params: dict[str, Any]) -> None:
        if stored.path != path:
            raise StripeErrorResponse(
                400,
                f"Keys for idempotent requests can only be used for the same endpoint they were first used for "
                f"('{path}' vs '{stored.path}'). Try using a key other than '{key}' if you meant to execute a "
                "different request.",
                type_="idempotency_error",
            )
        if stored.params != params:
            raise StripeErrorResponse(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were first used with. "
                f"Try using a key other than '{key}' if you meant to execute a different request.",
                type_="idempotency_error",
            )

    @staticmethod
    def _retrieve(
        params: dict[str, Any], objects: Mapping[str, dict[str, Any]], object_id: str, kind: str, param: str
    ) -> dict[str, Any]:
        if "expand" in params:
            raise _unsupported("expand")
        _check_unknown(params, frozenset())
        if object_id not in objects:
            raise StripeErrorResponse(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)
        return copy.deepcopy(objects[object_id])

    # endpoints

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if "payment_method_types" in params:
            raise _invalid(
                "Received unknown parameter: payment_method_types. At Stripe-Version "
                f"{stripe.api_version} (stripe-python {stripe.VERSION}) Checkout Sessions take "
                "allowed_payment_method_types (and excluded_payment_method_types) instead.",
                "payment_method_types",
                "parameter_unknown",
            )
        _check_unknown(params, SESSION_PARAMS)
        _check_empty(params, "")
        if "expand" in params:
            raise _unsupported("expand")
        mode = _string(params, "mode", "mode", required=True)
        if mode not in ("payment", "setup", "subscription"):
            raise _invalid("Invalid mode: must be one of payment, setup, or subscription", "mode")
        if mode != "payment":
            raise _unsupported(f"mode={mode}")
        if params.get("ui_mode", "hosted_page") != "hosted_page":
            raise _unsupported(f"ui_mode={params['ui_mode']}")
        success_url = _string(params, "success_url", "success_url", required=True)
        cancel_url = _string(params, "cancel_url", "cancel_url")
        for name, value in (("success_url", success_url), ("cancel_url", cancel_url)):
            if value is not None and not re.match(r"https?://[^/\s]+", value):
                raise _invalid("Not a valid URL", name, "url_invalid")
        currency, amount = self._line_items(params.get("line_items"))
        options = _dict(params, "payment_method_options", "payment_method_options")
        types = self._payment_method_types(params, options)
        created = int(time.time())
        expires_at = created + SESSION_LIFETIME
        if "expires_at" in params:
            expires_at = _integer(params["expires_at"], "expires_at")
            if not created + 1800 <= expires_at <= created + SESSION_LIFETIME:
                raise _invalid(
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session "
                    "creation.",
                    "expires_at",
                )
        session_id = new_id("cs_test_a1", 58)
        session: dict[str, Any] = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": cancel_url,
            "client_reference_id": _string(params, "client_reference_id", "client_reference_id", max_length=200),
            "created": created,
            "currency": currency,
            "customer": None,
            "customer_email": _string(params, "customer_email", "customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": _metadata(params),
            "mode": mode,
            "payment_intent": None,
            "payment_method_options": options,
            "allowed_payment_method_types": params.get("allowed_payment_method_types"),
            "excluded_payment_method_types": params.get("excluded_payment_method_types"),
            "payment_method_types": types,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": success_url,
            "ui_mode": "hosted_page",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return copy.deepcopy(session)

    def _payment_method_types(self, params: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
        """What the session offers: the account's methods (``dynamic_payment_method_types``), filtered by
        ``allowed_payment_method_types`` / ``excluded_payment_method_types``. WeChat Pay needs
        ``payment_method_options[wechat_pay][client]``: refused if explicitly allowed without it, else left out."""
        lists: dict[str, list[str]] = {}
        for key in ("allowed_payment_method_types", "excluded_payment_method_types"):
            values = params.get(key, [])
            if not isinstance(values, list):
                raise _invalid("Invalid array", key)
            for index, value in enumerate(values):
                if value not in PAYMENT_METHOD_TYPES:
                    raise _invalid(
                        f"Invalid {key}[{index}]: must be one of {', '.join(PAYMENT_METHOD_TYPES)} "
                        "(the methods FakeStripe models)",
                        f"{key}[{index}]",
                    )
            lists[key] = values
        allowed, excluded = lists["allowed_payment_method_types"], lists["excluded_payment_method_types"]
        client = _dict(options, "wechat_pay", "payment_method_options[wechat_pay]").get("client")
        if "wechat_pay" in allowed and client not in ("web", "ios", "android"):
            raise _missing("payment_method_options[wechat_pay][client]")
        types = [
            t
            for t in (allowed or self.dynamic_payment_method_types)
            if t in self.dynamic_payment_method_types and t not in excluded
        ]
        if client is None and "wechat_pay" in types and not allowed:
            types.remove("wechat_pay")
        if not types:
            raise _invalid(
                "No valid payment method types for this Checkout Session. Enable them in the Dashboard or "
                "change allowed_payment_method_types / excluded_payment_method_types.",
                "allowed_payment_method_types",
            )
        return types

    @staticmethod
    def _line_items(line_items: Any) -> tuple[str, int]:
        if line_items is None:
            raise _invalid("`line_items` is required in `payment` mode.", "line_items", "parameter_missing")
        if not isinstance(line_items, list):
            raise _invalid("Invalid array", "line_items")
        currencies: set[str] = set()
        total = Decimal(0)
        for index, item in enumerate(line_items):
            name = f"line_items[{index}]"
            if not isinstance(item, dict):
                raise _invalid(f"Invalid object: {name} must be a hash", name)
            _check_unknown(item, LINE_ITEM_PARAMS, name)
            if "price" in item:
                raise _unsupported(f"{name}[price] (saved Prices); use price_data")
            if "price_data" not in item:
                raise _missing(f"{name}[price_data]")
            price = _dict(item, "price_data", f"{name}[price_data]")
            _check_unknown(price, PRICE_DATA_PARAMS, f"{name}[price_data]")
            if "recurring" in price:
                raise _unsupported(f"{name}[price_data][recurring]")
            currency = _string(price, "currency", f"{name}[price_data][currency]", required=True).lower()
            if not re.fullmatch(r"[a-z]{3}", currency):
                raise _invalid(f"Invalid currency: {currency}", f"{name}[price_data][currency]")
            currencies.add(currency)
            if "unit_amount" in price and "unit_amount_decimal" in price:
                raise _invalid(
                    "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                    f"{name}[price_data][unit_amount]",
                )
            if "unit_amount" in price:
                unit = Decimal(_integer(price["unit_amount"], f"{name}[price_data][unit_amount]", minimum=0))
            elif "unit_amount_decimal" in price:
                try:
                    unit = Decimal(price["unit_amount_decimal"])
                except (InvalidOperation, TypeError):
                    raise _invalid(
                        f"Invalid decimal: {price['unit_amount_decimal']}", f"{name}[price_data][unit_amount_decimal]"
                    ) from None
            else:
                raise _missing(f"{name}[price_data][unit_amount]")
            if "product" in price:
                raise _unsupported(f"{name}[price_data][product] (saved Products); use product_data")
            if "product_data" not in price:
                raise _missing(f"{name}[price_data][product_data]")
            product = _dict(price, "product_data", f"{name}[price_data][product_data]")
            _check_unknown(product, PRODUCT_DATA_PARAMS, f"{name}[price_data][product_data]")
            _string(product, "name", f"{name}[price_data][product_data][name]", required=True)
            _metadata(product, f"{name}[price_data][product_data][metadata]")
            if "quantity" not in item:
                raise _missing(f"{name}[quantity]")
            total += unit * _integer(item["quantity"], f"{name}[quantity]", minimum=1)
        if not line_items:
            raise _invalid("`line_items` must contain at least one item.", "line_items")
        if len(currencies) > 1:
            raise _invalid("All line_items must use the same currency.", "line_items")
        return currencies.pop(), int(total.to_integral_value(ROUND_HALF_UP))

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_unknown(params, REFUND_PARAMS)
        _check_empty(params, "")
        if "expand" in params:
            raise _unsupported("expand")
        intent_id = _string(params, "payment_intent", "payment_intent")
        charge_id = _string(params, "charge", "charge")
        if intent_id is None and charge_id is None:
            raise _invalid("One of the following params should be provided for this request: payment_intent or charge.")
        if intent_id is not None and intent_id not in self.payment_intents:
            raise _invalid(f"No such payment_intent: '{intent_id}'", "payment_intent", "resource_missing")
        if intent_id is None:
            by_charge = {pi["latest_charge"]: pi["id"] for pi in self.payment_intents.values()}
            if charge_id not in by_charge:
                raise _invalid(f"No such charge: '{charge_id}'", "charge", "resource_missing")
            intent_id = by_charge[charge_id]
        intent = self.payment_intents[intent_id]
        if charge_id is not None and charge_id != intent["latest_charge"]:
            raise _invalid(f"Charge {charge_id} does not belong to PaymentIntent {intent_id}.", "charge")
        reason = params.get("reason")
        if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
            raise _invalid("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", "reason")
        metadata = _metadata(params)
        remaining = intent["amount"] - self.refunded_amount(intent_id)
        amount = _integer(params["amount"], "amount", minimum=1) if "amount" in params else remaining
        currency = intent["currency"]
        if remaining <= 0:
            raise StripeErrorResponse(
                400,
                f"Charge {intent['latest_charge']} has already been refunded.",
                code="charge_already_refunded",
                saved=True,
            )
        if amount > remaining:
            raise StripeErrorResponse(
                400,
                f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded amount on charge "
                f"({format_amount(remaining, currency)})",
                code="charge_exceeds_source_limit",
                param="amount",
                saved=True,
            )
        refund = {
            "id": new_id("re_"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": new_id("txn_"),
            "charge": intent["latest_charge"],
            "created": int(time.time()),
            "currency": currency,
            "metadata": metadata,
            "payment_intent": intent_id,
            "reason": reason,
            "receipt_number": None,
            "status": self.refund_status,
        }
        self.refunds.append(refund)
        return copy.deepcopy(refund)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeStripe


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, payload, headers = self.server.fake.handle(method, self.path, body, dict(self.headers.items()))
        except Exception as error:  # noqa: BLE001 - a bug in the fake must reach the test as an answer, not a hang
            status, headers = 500, {}
            payload = {"error": {"type": "api_error", "message": f"FakeStripe crashed: {error!r}"}}
        data = json.dumps(payload, indent=2).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read fake.requests instead
        return


# --- webhooks ------------------------------------------------------------------------------------------------


def event_payload(
    event_type: str, obj: Mapping[str, Any], *, event_id: str | None = None, created: int | None = None
) -> bytes:
    """The raw body Stripe would POST to a webhook endpoint (pretty-printed, as Stripe sends it)."""
    event = {
        "id": event_id or new_id("evt_"),
        "object": "event",
        "api_version": stripe.api_version,
        "created": created if created is not None else int(time.time()),
        "data": {"object": dict(obj)},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    return json.dumps(event, indent=2).encode()


def signature_header(payload: bytes | str, secret: str, *, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` for ``payload``: ``t=<ts>,v1=<hex>``, computed by stripe-python's own signing code."""
    text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    return str(stripe.WebhookSignature.generate_signature_header(text, secret, timestamp=timestamp))
