from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "baohan.console"
    verbose_name = "平台控制台"

    def ready(self) -> None:
        from baohan.console.rollup import rollup_due_on_transition
        from baohan.guarantees.effects import transition_effects_register
        from baohan.guarantees.states import TRANSITIONS

        # Every move of an order changes its centre's figures: the centre's rollup is due (the
        # effect runs in the centre's schema, in the transition's transaction).
        for name in TRANSITIONS:
            transition_effects_register(transition=name, effect=rollup_due_on_transition)
