from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "baohan.portal"
    label = "portal"
    verbose_name = "门户"
