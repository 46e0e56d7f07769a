"""Console URLs: billing."""

from django.urls import URLPattern, path

from baohan.billing import views

urlpatterns: list[URLPattern] = [
    path("billing/", views.billing_home, name="billing"),
    path("billing/plans/new", views.plan_create_view, name="billing_plan_create"),
    path("billing/centres/<slug:code>/plan", views.plan_assign_view, name="billing_plan_assign"),
    path("billing/centres/<slug:code>/report", views.usage_report_view, name="billing_report"),
    path("centres/<slug:code>/billing/", views.tenant_billing_view, name="tenant_billing"),
]
