"""Online payment with Stripe where the pack enables it: a Checkout Session per order, a webhook
that verifies Stripe's signature and handles each event once, and refunds sent back through
Stripe with an idempotency key derived from our payout's id (a retry never refunds twice)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from baohan.guarantees.errors import Conflict, NotAllowed
from baohan.guarantees.models import Order
from baohan.guarantees.states import Actor
from baohan.identity.integration_settings import stripe_secret_key, stripe_webhook_secrets
from baohan.ops.due import centre_due_mark
from baohan.payments.models import CheckoutSession, Payment, Payout, StripeEvent
from baohan.payments.services.payouts import payout_settle
from baohan.payments.services.settlement import PAYABLE, Receipt, payer_rule, receipts_settle
from baohan.rulepacks.models import OnlineChannel, PayerAccount, PaymentMethod
from tenants.db import connection
from tenants.selectors import pack_in_force, pack_of_version

log = logging.getLogger(__name__)

STRIPE_TYPES = {OnlineChannel.CARD: "card", OnlineChannel.ALIPAY: "alipay", OnlineChannel.WECHAT_PAY: "wechat_pay"}
FUTURE_SKEW_SECONDS = 5
PAYOUT_MAX_ATTEMPTS = 5
PAYOUTS_JOB = "payments.online_payouts_send"
NOT_OURS = frozenset({"unknown session", "unknown refund"})


class WebhookRefused(Exception):
    """The request is not a genuine, timely event from Stripe: answered 400, nothing changes."""


def stripe_client() -> stripe.StripeClient:
    """A client for the centre's own Stripe account where it set one, else the platform's."""
    secret_key = stripe_secret_key()
    if not secret_key:
        raise Conflict("online_unavailable", "在线支付暂未开通，请使用其他支付方式")
    options: dict[str, Any] = {"max_network_retries": 2}
    if settings.STRIPE_API_BASE:
        options["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(secret_key, **options)


def to_minor(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def from_minor(amount: int) -> Decimal:
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


def checkout_create(*, order: Order, success_url: str, cancel_url: str) -> CheckoutSession:
    """Open (or reuse) a Checkout Session for the order's payable amount."""
    pack, _ = pack_in_force()
    if PaymentMethod.ONLINE not in pack.payment.methods:
        raise NotAllowed("online_not_offered", "本中心不支持在线支付")
    if order.state not in PAYABLE:
        raise Conflict("order_not_payable", "订单当前状态不能付款")
    if payer_rule(pack_of_version(order.rule_pack_version), order.section.project_type) != PayerAccount.ANY:
        raise NotAllowed("online_payer_rule", "该项目类型须从企业账户转账支付，不能在线支付")
    now = timezone.now()
    if order.section.deposit_deadline <= now:
        raise Conflict("deadline_passed", "已过保证金缴纳截止时间")
    reusable = (
        CheckoutSession.objects.filter(
            order=order, amount=order.payable_amount, expires_at__gt=now + timedelta(minutes=5)
        )
        .order_by("-created_at")
        .first()
    )
    if reusable is not None:
        return reusable
    expires = min(max(order.section.deposit_deadline, now + timedelta(minutes=31)), now + timedelta(hours=23))
    channels = [STRIPE_TYPES[c] for c in pack.payment.online_channels]
    params: dict[str, Any] = {
        "mode": "payment",
        "allowed_payment_method_types": channels,
        "line_items": [
            {
                "price_data": {
                    "currency": settings.STRIPE_CURRENCY,
                    "unit_amount": to_minor(order.payable_amount),
                    "product_data": {"name": f"保费 订单{order.number}"},
                },
                "quantity": 1,
            }
        ],
        "client_reference_id": order.number,
        "metadata": {"schema": connection.schema_name, "order": order.number},
        "payment_intent_data": {"metadata": {"schema": connection.schema_name, "order": order.number}},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires.timestamp()),
    }
    if "wechat_pay" in channels:
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    attempt = CheckoutSession.objects.filter(order=order).count()
    key = f"checkout-{connection.schema_name}-{order.pk}-{to_minor(order.payable_amount)}-{attempt}"
    try:
        session = stripe_client().v1.checkout.sessions.create(params=params, options={"idempotency_key": key})  # type: ignore[arg-type]
    except stripe.StripeError as exc:
        log.warning("stripe checkout failed order=%s: %s", order.number, exc)
        raise Conflict("online_unavailable", "在线支付暂不可用，请稍后再试") from exc
    return CheckoutSession.objects.create(
        order=order,
        session_id=session.id,
        url=session.url or "",
        amount=order.payable_amount,
        currency=settings.STRIPE_CURRENCY,
        channels=channels,
        expires_at=datetime.fromtimestamp(session.expires_at or int(expires.timestamp()), tz=UTC),
    )


def _header_timestamp(header: str) -> int:
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError as exc:
                raise WebhookRefused("bad timestamp") from exc
    raise WebhookRefused("no timestamp")


def webhook_event_verify(*, payload: bytes, signature: str) -> Any:
    """Stripe's own verification (signature, and timestamps older than the tolerance), plus a
    refusal of timestamps from the future."""
    webhook_secrets = stripe_webhook_secrets()  # a replaced secret is still accepted during its overlap
    if not webhook_secrets:
        raise WebhookRefused("webhooks are not configured")
    timestamp = _header_timestamp(signature)
    if timestamp > timezone.now().timestamp() + FUTURE_SKEW_SECONDS:
        raise WebhookRefused("timestamp in the future")
    refusal: Exception | None = None
    for secret in webhook_secrets:
        try:
            return stripe.Webhook.construct_event(
                payload.decode("utf-8"), signature, secret, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
            )
        except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
            refusal = exc  # AttributeError, TypeError: signed, but not an event object (e.g. a JSON list)
    raise WebhookRefused(str(refusal)) from refusal


def webhook_handle(*, payload: bytes, signature: str) -> str:
    """Verify, then handle the event once (its id is stored in the same transaction)."""
    event = webhook_event_verify(payload=payload, signature=signature)
    data = json.loads(payload)
    obj = data.get("data") if isinstance(data, dict) else None
    obj = obj.get("object") if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or not isinstance(event.id, str) or not isinstance(event.type, str):
        raise WebhookRefused("not an event with an object")
    given_metadata = obj.get("metadata")
    metadata: dict[str, Any] = given_metadata if isinstance(given_metadata, dict) else {}
    if metadata.get("schema") and metadata.get("schema") != connection.schema_name:
        return "ignored: another centre's event"
    try:
        with transaction.atomic():
            record = StripeEvent.objects.create(event_id=event.id, type=event.type)
            outcome = _event_apply(event_type=event.type, obj=obj, created=int(data.get("created") or 0))
            if outcome in NOT_OURS:  # another centre's session or refund (one Stripe account): nothing kept here
                transaction.set_rollback(True)
                return outcome
            record.outcome = outcome[:200]
            record.save(update_fields=["outcome"])
    except IntegrityError:
        return "duplicate event"
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a field of an unexpected shape
        raise WebhookRefused(f"malformed event: {type(exc).__name__}") from exc
    return outcome


def _event_apply(*, event_type: str, obj: dict[str, Any], created: int) -> str:
    if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if obj.get("payment_status") != "paid":
            return "waiting for an asynchronous payment"
        session = CheckoutSession.objects.filter(session_id=obj.get("id", "")).select_related("order").first()
        if session is None:
            return "unknown session"
        if str(obj.get("currency", "")).lower() != session.currency:
            return "ignored: currency differs"
        intent = str(obj.get("payment_intent") or "")
        CheckoutSession.objects.filter(pk=session.pk).update(payment_intent=intent)
        paid_at = datetime.fromtimestamp(created, tz=UTC) if created else timezone.now()
        result = receipts_settle(
            receipts=[
                Receipt(
                    channel=Payment.Channel.ONLINE,
                    source_ref=intent or session.session_id,
                    order_id=session.order_id,
                    amount=from_minor(int(obj.get("amount_total") or 0)),
                    paid_at=paid_at,
                    payer_name=str((obj.get("customer_details") or {}).get("name") or ""),
                    payer_checked=False,
                )
            ],
            actor=Actor.system("在线支付"),
        )
        return ",".join(sorted(result.outcomes)) or "already settled"
    if event_type in ("refund.updated", "refund.created", "charge.refund.updated"):
        refund_id = str(obj.get("id") or "")
        payout = Payout.objects.filter(reference=refund_id).first() if refund_id else None  # never a blank reference
        if payout is None:
            return "unknown refund"
        return _refund_status_apply(payout_id=payout.pk, status=str(obj.get("status", "")), refund_id=refund_id)
    return f"ignored: {event_type}"


def _refund_status_apply(*, payout_id: int, status: str, refund_id: str) -> str:
    with transaction.atomic():
        payout = Payout.objects.select_for_update().select_related("order").get(pk=payout_id)
        if status == "succeeded" and payout.state != Payout.State.PAID:
            payout_settle(payout=payout, actor=Actor.system("在线退款"), reference=refund_id)
            return "refund paid"
        if status in ("failed", "canceled") and payout.state == Payout.State.SENDING:
            Payout.objects.filter(pk=payout.pk).update(state=Payout.State.FAILED, failure=f"Stripe: {status}")
            if payout.attempts < PAYOUT_MAX_ATTEMPTS:  # tried again by the periodic job
                centre_due_mark(job=PAYOUTS_JOB)
            return "refund failed"
    return f"refund {status}"


def online_payout_send(*, payout_id: int) -> str:
    """Send one online payout back through Stripe. The idempotency key is the payout's id, so a
    retry after a lost answer returns Stripe's first refund instead of refunding again."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update(of=("self",)).select_related("order", "payment").get(pk=payout_id)
        if payout.method != Payout.Method.ONLINE or payout.state not in (Payout.State.DUE, Payout.State.FAILED):
            return "not due"
        payment = (
            payout.payment
            or Payment.objects.filter(
                order=payout.order, channel=Payment.Channel.ONLINE, outcome__in=["applied", "overpaid"]
            ).first()
        )
        if payment is None or payment.channel != Payment.Channel.ONLINE:
            return "no online payment"
        payout.attempts += 1
        try:
            refund = stripe_client().v1.refunds.create(
                params={
                    "payment_intent": payment.source_ref,
                    "amount": to_minor(payout.amount),
                    "metadata": {"schema": connection.schema_name, "payout": payout.number},
                },
                options={"idempotency_key": f"payout-{connection.schema_name}-{payout.pk}"},
            )
        except stripe.StripeError as exc:
            payout.state = Payout.State.FAILED
            payout.failure = str(getattr(exc, "user_message", "") or exc)[:300]
            payout.save(update_fields=["state", "failure", "attempts"])
            return "failed"
        payout.reference = refund.id
        if refund.status == "succeeded":
            payout.save(update_fields=["attempts", "reference"])
            payout_settle(payout=payout, actor=Actor.system("在线退款"), reference=refund.id)
            return "paid"
        payout.state = Payout.State.SENDING
        payout.save(update_fields=["state", "attempts", "reference"])
        return "sending"


def _payouts_to_send() -> Any:
    return Payout.objects.filter(
        method=Payout.Method.ONLINE,
        state__in=[Payout.State.DUE, Payout.State.FAILED],
        attempts__lt=PAYOUT_MAX_ATTEMPTS,
    )


def online_payouts_send() -> int:
    ids = _payouts_to_send().values_list("pk", flat=True)
    return sum(online_payout_send(payout_id=pk) == "paid" for pk in list(ids))


def online_payouts_next_due(*, now: datetime) -> datetime | None:
    """Sending is due again while an online payout is owed or failed with attempts left (retried
    at the job's interval, ``baohan/ops/due.py``)."""
    return now if _payouts_to_send().exists() else None
