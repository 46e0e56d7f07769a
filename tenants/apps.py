from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "交易中心 (tenants)"
    default_auto_field = "django.db.models.BigAutoField"
