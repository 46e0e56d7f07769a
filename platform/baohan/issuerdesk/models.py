"""Issuer staff: accounts of a centre's schema bound to one issuer of the centre's pack."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IssuerMember(models.Model):
    """The account (a staff account of this centre's schema) works for ``issuer_code`` on the workbench only."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="issuer_member")
    issuer_code = models.CharField("出函机构", max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["issuer_code"])]

    def __str__(self) -> str:
        return f"{self.issuer_code}:{self.user_id}"
