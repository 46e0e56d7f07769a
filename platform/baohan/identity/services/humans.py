"""The image captcha (图形验证码) shown before a code is sent, for pages and for the API."""

from __future__ import annotations

from captcha.helpers import captcha_image_url
from captcha.models import CaptchaStore
from django.utils import timezone

from baohan.guarantees.errors import InvalidInput


def captcha_new() -> tuple[str, str]:
    """A new challenge: its key and the URL of its picture."""
    key = CaptchaStore.generate_key()
    return key, captcha_image_url(key)


def captcha_verify(*, key: str, answer: str, field: str = "captcha") -> None:
    """One answer per challenge, right or wrong (as the captcha field does)."""
    answer = (answer or "").strip().lower()
    if not key or not answer:
        raise InvalidInput("required", "请填写图形验证码", field=field, label="图形验证码")
    CaptchaStore.remove_expired()
    store = CaptchaStore.objects.filter(hashkey=key, expiration__gt=timezone.now()).first()
    if store is not None:
        store.delete()
    if store is None:
        raise InvalidInput("captcha_expired", "图形验证码已失效，请刷新后重试", field=field, label="图形验证码")
    if store.response != answer:
        raise InvalidInput("captcha_wrong", "图形验证码错误", field=field, label="图形验证码")
