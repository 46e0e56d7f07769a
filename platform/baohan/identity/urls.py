"""Sign-in, account and dev pages on a centre's host."""

from django.urls import include, path

from baohan.identity import dev_views, views

urlpatterns = [
    path("login/", views.login_choice, name="identity_login"),
    path("login/reset/", views.password_reset, name="identity_password_reset"),
    path("login/reset/confirm/", views.password_reset_confirm, name="identity_password_reset_confirm"),
    path("login/ca/challenge", views.ca_challenge, name="identity_ca_challenge"),
    path("login/ca/", views.ca_login, name="identity_ca_login"),
    path("login/handoff", views.handoff, name="identity_handoff"),
    path("account/", views.account_home, name="identity_account"),
    path("account/enterprise/", views.enterprise_verify, name="identity_enterprise_verify"),
    path("accounts/signup/code", views.signup_code, name="identity_signup_code"),
    path("accounts/", include("allauth.urls")),
    path("captcha/", include("captcha.urls")),
    path("dev/", views.dev_index, name="identity_dev"),
    path("dev/outbox", views.dev_outbox, name="identity_dev_outbox"),
    path("dev/codes", dev_views.dev_codes, name="identity_dev_codes"),
    path("dev/ca-driver.js", views.dev_ca_driver, name="identity_dev_ca_driver"),
]
