"""allauth login stages of our own (loaded by dotted path from the adapter, after allauth is ready)."""

from __future__ import annotations

from typing import Any

from allauth.account.stages import PhoneVerificationStage

from baohan.identity.models import UserPhone


class PhoneOwnersOnlyStage(PhoneVerificationStage):
    """Verify the phone of accounts that sign in by phone; certificate and hand-off accounts have none."""

    def handle(self) -> tuple[Any, bool]:
        user = self.login.user
        if user is not None and not UserPhone.objects.filter(user=user).exists():
            return None, True
        return super().handle()  # type: ignore[no-any-return]
