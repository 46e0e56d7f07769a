from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "baohan.outbox"
    label = "outbox"
    verbose_name = "待发任务"
    default_auto_field = "django.db.models.BigAutoField"
