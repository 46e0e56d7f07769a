"""URLs served on a trading centre's host (tenant schema)."""

from django.urls import include, path

from baohan.documents.views import verify_page
from baohan.portal import views
from baohan.portal.favicon import favicon

# The API first: its calls come in bulk, and no page's path starts with "api/" (the empty-prefix
# includes below would otherwise be tried, pattern by pattern, before every API call).
urlpatterns = [
    path("api/v1/site", views.SiteApi.as_view(), name="api-site"),
    path("api/v1/", include("baohan.api_urls")),
    path("", views.landing, name="landing"),
    path("favicon.ico", favicon, name="favicon"),
    path("verify", verify_page, name="verify"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("branding/<slug:code>/<str:name>", views.branding_file, name="branding"),
    path("staff/", include("baohan.portal.staff_urls")),
    path("issuer/", include("baohan.issuerdesk.urls")),
    path("", include("baohan.portal.urls")),
    path("", include("baohan.identity.urls")),
]
