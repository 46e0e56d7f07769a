from django.apps import AppConfig


class IssuerDeskConfig(AppConfig):
    name = "baohan.issuerdesk"
    label = "issuerdesk"
    verbose_name = "出函机构工作台"
    default_auto_field = "django.db.models.BigAutoField"
