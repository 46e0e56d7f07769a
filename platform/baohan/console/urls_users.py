"""Console URLs: a centre's staff accounts and its issuers' staff accounts."""

from django.urls import URLPattern, path

from baohan.console import users as views

BASE = "centres/<slug:code>/users/"

urlpatterns: list[URLPattern] = [
    path(BASE, views.users, name="users"),
    path(f"{BASE}save", views.user_save, name="user_save"),
    path(f"{BASE}<int:pk>/password", views.user_password, name="user_password"),
    path(f"{BASE}<int:pk>/active", views.user_active, name="user_active"),
]
