from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "baohan.payments"
    label = "payments"
    verbose_name = "资金"
