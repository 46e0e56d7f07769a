from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "baohan.documents"
    label = "documents"
    verbose_name = "保单与文件"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from baohan.documents.effects import policy_queue
        from baohan.guarantees.effects import transition_effects_register

        transition_effects_register(transition="issue", effect=policy_queue)
