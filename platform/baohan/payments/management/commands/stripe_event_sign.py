"""``stripe_event_sign FILE``: print the ``Stripe-Signature`` header Stripe would send with the event in
FILE (``-``: standard input), signed with ``STRIPE_WEBHOOK_SECRET`` by stripe-python's own code.

Development only (refused with DEBUG off): with it, an event can be posted to a centre's
``/api/v1/stripe/webhook`` by hand, as Stripe would, without the Stripe CLI::

    curl -X POST http://paytest.localhost:8000/api/v1/stripe/webhook -H 'Content-Type: application/json' \\
         -H "Stripe-Signature: $(python manage.py stripe_event_sign event.json)" --data-binary @event.json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import stripe
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Print a Stripe-Signature header for an event file, signed with STRIPE_WEBHOOK_SECRET (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the event's JSON, exactly as it will be posted; - for standard input")
        parser.add_argument("--timestamp", type=int, default=None, help="Unix seconds (default: now)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("stripe_event_sign is for development only (DEBUG is off)")
        if not settings.STRIPE_WEBHOOK_SECRET:
            raise CommandError("STRIPE_WEBHOOK_SECRET is not set")
        raw = sys.stdin.buffer.read() if options["file"] == "-" else Path(options["file"]).read_bytes()
        try:
            payload = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommandError("the event file is not UTF-8") from exc
        header = stripe.WebhookSignature.generate_signature_header(
            payload, settings.STRIPE_WEBHOOK_SECRET, timestamp=options["timestamp"]
        )
        self.stdout.write(str(header))
