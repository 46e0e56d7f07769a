"""``migrate_schemas`` (and ``migrate``): django-tenants' migrate_schemas, then the template schema and its snapshot.

New tenants are copied from the template (tenants/cloning.py), so whenever all tenant
schemas are migrated the template is migrated too and its snapshot retaken if it changed.
"""

from typing import Any

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from tenants.cloning import template_refresh


class Command(MigrateSchemasCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        whole_run = not options.get("schema_name") and not options.get("shared")
        if whole_run and not options.get("app_label") and not options.get("fake"):
            snapshot = template_refresh(verbosity=max(0, int(options.get("verbosity", 1)) - 1))
            if int(options.get("verbosity", 1)) > 0:
                self.stdout.write(f"Tenant template is current (snapshot {snapshot.fingerprint[:12]}).")
