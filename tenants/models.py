"""Public-schema records: one tenant per trading centre, its hosts and its rule-pack history."""

from __future__ import annotations

from typing import Any

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Tenant(TenantMixin):
    """A trading centre. Its data lives in the PostgreSQL schema ``schema_name``."""

    # Schemas are created by tenants.cloning, never as a side effect of save().
    auto_create_schema = False
    auto_drop_schema = False

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    theme = models.CharField(max_length=60)
    is_active = models.BooleanField(default=True)
    current_rule_pack = models.ForeignKey(
        "tenants.RulePackVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Domain(DomainMixin):
    """A host name served as this tenant's site."""

    def __str__(self) -> str:
        return str(self.domain)


class RulePackVersion(models.Model):
    """One published, immutable version of a tenant's rule pack.

    ``number`` counts up per tenant; decisions made later record the version they were
    made under. ``digest`` is the SHA-256 of the validated pack in canonical JSON, so
    re-publishing identical content is recognised as unchanged.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="rule_packs")
    number = models.PositiveIntegerField()
    label = models.CharField(max_length=60, help_text="The version the pack's author wrote in it.")
    digest = models.CharField(max_length=64)
    source_name = models.CharField(max_length=255)
    source_text = models.TextField()
    data: models.JSONField[Any] = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="rulepack_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant.code} v{self.number} ({self.label})"


class SchemaSnapshot(models.Model):
    """The DDL and seed rows of the migrated template schema, replayed to create a tenant.

    ``fingerprint`` identifies the migration state it was taken at (a hash of the
    template's applied migrations); a snapshot is retaken whenever that state changes.
    """

    fingerprint = models.CharField(max_length=64, unique=True)
    sql = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"snapshot {self.fingerprint[:12]}"
