"""``onboard_region PATH --domain HOST [--domain HOST ...]``: create or update a centre from its pack."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from baohan.rulepacks.loader import RulePackError
from tenants.services import OnboardingError, tenant_onboard_file


class Command(BaseCommand):
    help = "Validate a rule pack and create or update its trading centre (schema, domains, theme, pack version)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The rule pack, e.g. regions/xinjiang.yaml")
        parser.add_argument(
            "--domain", action="append", default=[], dest="domains", help="A host the centre is served at."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = tenant_onboard_file(path=options["path"], domains=options["domains"])
        except (RulePackError, OnboardingError) as exc:
            problems = exc.problems
            for problem in problems:
                self.stderr.write(f"error: {problem}")
            raise CommandError(f"{len(problems)} problem(s); nothing was created or changed.") from None
        self.stdout.write(self.style.SUCCESS(result.summary()) if result.changed else result.summary())
