"""What documents does when an order moves (registered in ``DocumentsConfig.ready``)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from baohan.guarantees.effects import TransitionDone
from baohan.ops.due import centre_due_mark
from baohan.outbox.services import outbox_enqueue

BACKFILL_AFTER = timedelta(minutes=10)  # a policy not made by then is made by the backfill


def policy_queue(done: TransitionDone) -> None:
    """An order issued: its policy is made by a task queued in the issuing transaction (the
    ``documents.policies_backfill`` sweep remains for orders issued before the outbox, and comes
    by a few minutes after an issue in case the task is lost: ``baohan/ops/due.py``)."""
    outbox_enqueue(task="documents.policy_generate", args=[done.order.pk])
    centre_due_mark(job="documents.policies_backfill", at=timezone.now() + BACKFILL_AFTER)
