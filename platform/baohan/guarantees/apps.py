from django.apps import AppConfig


class GuaranteesConfig(AppConfig):
    name = "baohan.guarantees"
    label = "guarantees"
    verbose_name = "保函业务"
