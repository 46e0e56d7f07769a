"""Typed access to django-tenants' additions to the database connection."""

from __future__ import annotations

from typing import Any, Protocol, cast

from django.db import connection as _connection


class TenantConnection(Protocol):
    schema_name: str
    tenant: Any

    def set_schema_to_public(self) -> None: ...

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None: ...


connection = cast(TenantConnection, _connection)
