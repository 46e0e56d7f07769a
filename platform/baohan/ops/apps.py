from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "baohan.ops"
    label = "ops"
    verbose_name = "运维"

    def ready(self) -> None:
        from baohan.ops.dev_secrets import checks_register

        checks_register()
