"""Development-only answers for walking the flow by hand (``curl``): the latest picture and SMS codes, and a
hand-off token for the demo enterprise where the centre takes bidders from its trading platform.

Every view here is a 404 unless ``DEBUG`` is on, like the other ``/dev/`` pages. The picture code is
read by its challenge key (it dies when answered, as always); the SMS code is read from the
development outbox, the only backend that keeps a text.
"""

from __future__ import annotations

import re

from captcha.models import CaptchaStore
from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone

from baohan.identity.models import SmsMessage
from baohan.identity.services.sms import OUTBOX, TEMPLATE_CODE


def dev_codes(request: HttpRequest) -> JsonResponse:
    """``GET /dev/codes?captcha_key=<key>&phone=<phone>&handoff=1``: what the picture shows, the last code sent
    to the phone, a fresh demo hand-off token."""
    if not settings.DEBUG:
        raise Http404()
    answer: dict[str, str | None] = {}
    key = request.GET.get("captcha_key", "").strip()
    if key:
        store = CaptchaStore.objects.filter(hashkey=key, expiration__gt=timezone.now()).first()
        answer["captcha"] = store.response if store is not None else None
    phone = request.GET.get("phone", "").strip()
    if phone:
        message = (
            SmsMessage.objects.filter(phone=phone, template=TEMPLATE_CODE, backend=OUTBOX)
            .order_by("-created_at")
            .first()
        )
        # The code is dropped from the message's parameters once it has gone; the outbox's text keeps it.
        found = re.search(rf"(?<!\d)\d{{{settings.SMS_CODE_LENGTH}}}(?!\d)", message.text) if message else None
        answer["sms_code"] = found.group(0) if found else None
        answer["sms_sent_at"] = message.created_at.isoformat() if message is not None else None
    if request.GET.get("handoff"):
        from baohan.identity.services.demo import demo_handoff_token

        answer["handoff_token"] = demo_handoff_token() or None
    if not answer:
        return JsonResponse({"code": "required", "message": "请提供 captcha_key、phone 或 handoff"}, status=400)
    return JsonResponse(answer)
