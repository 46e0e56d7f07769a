"""URLs served on the platform's own hosts (public schema)."""

from django.contrib import admin
from django.urls import include, path

from baohan.portal import views
from baohan.portal.favicon import favicon

urlpatterns = [
    path("", views.platform_home, name="platform-home"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("console/", include("baohan.console.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("branding/<slug:code>/<str:name>", views.branding_file, name="branding"),
    path("api/v1/platform", views.PlatformApi.as_view(), name="platform-api"),
]
