from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "baohan.claims"
    label = "claims"
    verbose_name = "索赔"
    default_auto_field = "django.db.models.BigAutoField"
