from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "baohan.payments"
    label = "payments"
    verbose_name = "资金"

    def ready(self) -> None:
        from baohan.guarantees.effects import transition_effects_register
        from baohan.payments.services.deadlines import deadline_mark_on_unpaid
        from baohan.payments.services.payouts import payout_on_refund_approved

        # A surrender approved: the premium is owed back, as a payout made in the same transaction.
        transition_effects_register(subject="refund", transition="refund_approve", effect=payout_on_refund_approved)
        # An order left awaiting payment: its reminders and expiry are due (baohan/ops/due.py).
        for transition in ("approve", "fail_payment"):
            transition_effects_register(transition=transition, effect=deadline_mark_on_unpaid)
