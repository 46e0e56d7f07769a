"""What documents does when an order moves (registered in ``DocumentsConfig.ready``)."""

from __future__ import annotations

from baohan.guarantees.effects import TransitionDone
from baohan.outbox.services import outbox_enqueue


def policy_queue(done: TransitionDone) -> None:
    """An order issued: its policy is made by a task queued in the issuing transaction (the
    ``documents.policies_backfill`` sweep remains for orders issued before the outbox)."""
    outbox_enqueue(task="documents.policy_generate", args=[done.order.pk])
