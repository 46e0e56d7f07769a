from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "baohan.documents"
    label = "documents"
    verbose_name = "保单与文件"
    default_auto_field = "django.db.models.BigAutoField"
