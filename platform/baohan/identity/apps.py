from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "baohan.identity"
    label = "identity"
    verbose_name = "身份与登录"
