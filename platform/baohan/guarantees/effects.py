"""What happens after a transition, wired by the app that owns it.

The order workflow (``services/orders.py``, ``services/refunds.py``) knows nothing of payments or
documents. An app that must act when an order, refund or other subject moves registers an effect
for that transition in its ``AppConfig.ready()``::

    transition_effects_register(transition="issue", effect=policy_queue)

Effects run inside the transition's transaction, after its event row is written: whatever they
write commits or rolls back with the transition. An effect that needs another process (a task)
queues it in the transactional outbox (``baohan.outbox``), never straight to the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from baohan.guarantees.models import Order
from baohan.guarantees.states import Actor


@dataclass(frozen=True)
class TransitionDone:
    """A transition just applied (its row saved and its event written, not yet committed)."""

    order: Order
    subject: str  # "order", or the subject of ``subject_move`` ("refund", "invoice", ...)
    row: Any  # the row that moved: the order itself for subject "order"
    name: str
    from_state: str
    to_state: str
    actor: Actor


Effect = Callable[[TransitionDone], None]

_effects: dict[tuple[str, str], list[Effect]] = {}


def transition_effects_register(*, transition: str, effect: Effect, subject: str = "order") -> None:
    """Run ``effect`` after every ``transition`` of ``subject``; registering twice is harmless."""
    effects = _effects.setdefault((subject, transition), [])
    if effect not in effects:
        effects.append(effect)


def transition_effects_of(*, transition: str, subject: str = "order") -> list[Effect]:
    return list(_effects.get((subject, transition), ()))


def transition_effects_run(*, done: TransitionDone) -> None:
    for effect in _effects.get((done.subject, done.name), ()):
        effect(done)
