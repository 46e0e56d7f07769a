"""Delivery of SMS texts. The task runs in the schema of the centre that queued the text."""

from __future__ import annotations

from typing import Any

from baohan.celery import TenantTask, app
from baohan.identity.services.sms import sms_deliver
from baohan.identity.sms.providers import Outcome


@app.task(bind=True, base=TenantTask, name="identity.sms_deliver", max_retries=4, acks_late=True)  # type: ignore[untyped-decorator]
def sms_deliver_task(self: Any, message_id: str) -> str:
    outcome = sms_deliver(message_id=message_id)
    if outcome == Outcome.RETRY:
        raise self.retry(countdown=min(5 * 2**self.request.retries, 60))
    return outcome.value if outcome else "skipped"
