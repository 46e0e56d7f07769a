from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "baohan.ops"
    label = "ops"
    verbose_name = "运维"
