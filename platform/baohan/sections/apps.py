from django.apps import AppConfig


class SectionsConfig(AppConfig):
    name = "baohan.sections"
    label = "sections"
    verbose_name = "标段"
