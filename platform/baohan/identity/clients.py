"""Who is asking: the client address the abuse limits count by, read as the API's throttles read it
(``REMOTE_ADDR``, or the address the configured proxies forwarded)."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str:
    return str(BaseThrottle().get_ident(Request(request)))
