"""The console's URLs, on the platform host under /console/."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from baohan.console import packs, themes, views

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    path("login/", views.ConsoleLogin.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/console/login/"), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("centres/new", views.tenant_create, name="tenant_create"),
    path("centres/<slug:code>/", views.tenant_detail, name="tenant"),
    path("centres/<slug:code>/pack", packs.pack_edit, name="pack_edit"),
    path("pack-schema.json", packs.pack_schema, name="pack_schema"),
    path("centres/<slug:code>/theme", themes.theme_edit, name="theme"),
    path("centres/<slug:code>/orders/", views.tenant_orders_page, name="orders"),
    path("centres/<slug:code>/theme/preview", themes.theme_preview, name="theme_preview"),
    path("centres/<slug:code>/pack/<int:number>/", packs.pack_version, name="pack_version"),
    path("centres/<slug:code>/pack/<int:number>/republish", packs.pack_republish, name="pack_republish"),
    path("actions/", views.actions, name="actions"),
    path("operations/", views.operations, name="operations"),
    path("", include("baohan.console.urls_credentials")),
    path("", include("baohan.console.urls_billing")),
    path("", include("baohan.console.urls_users")),
]
