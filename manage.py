#!/usr/bin/env python
"""Django's command-line utility for the platform."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baohan.settings.base")
    from baohan.embedded import database_url_ensure, exit_cleanly_on_sigterm

    exit_cleanly_on_sigterm()
    # Development only: production (the chart's pods) must fail without DATABASE_URL, never start a server.
    if os.environ["DJANGO_SETTINGS_MODULE"] != "baohan.settings.production":
        database_url_ensure()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
