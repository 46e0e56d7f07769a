from django.apps import AppConfig


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "baohan.billing"
    label = "billing"
    verbose_name = "平台计费"
