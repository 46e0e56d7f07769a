"""Host → tenant. Platform hosts get the public schema; any other unknown host gets 404."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.db import connection
from tenants.hosts import tenant_for_host
from tenants.models import Domain, Tenant


class TenantMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model: type[Domain], hostname: str) -> Tenant:
        return tenant_for_host(hostname)  # a shared cache, moved on when centres change (tenants/hosts.py)

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        connection.set_schema_to_public()
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return HttpResponseNotFound()
        if hostname in settings.PLATFORM_HOSTS:
            request.tenant = connection.tenant  # type: ignore[attr-defined]
            self.setup_url_routing(request, force_public=True)
            return None
        response: HttpResponse | None = super().process_request(request)
        return response

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> None:
        # Never fall back to the public schema for a host we do not serve.
        raise Http404(f"No trading centre is served at {hostname!r}")
