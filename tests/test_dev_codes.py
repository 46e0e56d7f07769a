"""``/dev/codes``: development only, and each centre answers for its own codes alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from baohan.identity.services.sms import sms_code_issue
from tests.api import tenant

pytestmark = pytest.mark.django_db

PHONE = "13900009999"


def _codes(host: str, **params: str) -> Any:
    return Client(HTTP_HOST=host).get("/dev/codes", params)


def test_a_404_without_debug(settings: Any) -> None:
    settings.DEBUG = False
    with tenant_context(tenant("benxi")):
        sms_code_issue(phone=PHONE, purpose="application")
    assert _codes("benxi.localhost", phone=PHONE).status_code == 404


def test_the_last_code_sent_on_this_centre_only(settings: Any) -> None:
    settings.DEBUG = True
    with tenant_context(tenant("benxi")):
        sms_code_issue(phone=PHONE, purpose="application")
    answer = _codes("benxi.localhost", phone=PHONE).json()
    assert answer["sms_code"].isdigit()
    assert len(answer["sms_code"]) == settings.SMS_CODE_LENGTH
    # Another centre sent nothing to this phone: it has nothing to show.
    assert _codes("xinjiang.localhost", phone=PHONE).json()["sms_code"] is None


def test_the_picture_code_of_a_challenge(settings: Any) -> None:
    settings.DEBUG = True
    client = Client(HTTP_HOST="xuancheng.localhost")
    key = client.post("/api/v1/captcha").json()["key"]
    picture = _codes("xuancheng.localhost", captcha_key=key).json()["captcha"]
    assert picture
    assert len(picture) == settings.CAPTCHA_LENGTH
    assert _codes("xuancheng.localhost", captcha_key="no-such-key").json()["captcha"] is None


def test_nothing_asked_is_a_clear_error(settings: Any) -> None:
    settings.DEBUG = True
    response = _codes("benxi.localhost")
    assert (response.status_code, response.json()["code"]) == (400, "required")
