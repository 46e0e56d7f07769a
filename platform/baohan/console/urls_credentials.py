"""Console URLs: a centre's integration credentials."""

from django.urls import URLPattern, path

from baohan.console import credentials as views

BASE = "centres/<slug:code>/credentials/"

urlpatterns: list[URLPattern] = [
    path(BASE, views.credentials, name="credentials"),
    path(f"{BASE}api/new", views.credential_create, name="credential_create"),
    path(f"{BASE}api/<int:pk>/rotate", views.credential_rotate_view, name="credential_rotate"),
    path(f"{BASE}api/<int:pk>/revoke", views.credential_revoke_view, name="credential_revoke"),
    path(f"{BASE}handoff/new", views.handoff_add, name="handoff_add"),
    path(f"{BASE}handoff/<int:pk>/rotate", views.handoff_rotate, name="handoff_rotate"),
    path(f"{BASE}handoff/<int:pk>/revoke", views.handoff_revoke, name="handoff_revoke"),
    path(f"{BASE}ca-roots/new", views.ca_add, name="ca_add"),
    path(f"{BASE}ca-roots/<int:pk>/remove", views.ca_remove, name="ca_remove"),
    path(f"{BASE}sms", views.sms_set, name="sms_set"),
    path(f"{BASE}stripe", views.stripe_set, name="stripe_set"),
    path(f"{BASE}<slug:kind>/clear", views.settings_clear, name="settings_clear"),
]
