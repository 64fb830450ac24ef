#!/usr/bin/env python
"""Django's command-line utility; starts the embedded Postgres first when the platform uses its own."""

import os
import sys

# Commands that never touch the database: they must not start the embedded PostgreSQL.
COMMANDS_WITHOUT_DATABASE = {"help", "--help", "-h", "version", "--version", "fetch_models", "collectstatic", "check"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facesite.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if settings.EMBEDDED_POSTGRES and command not in COMMANDS_WITHOUT_DATABASE:
        from facesite.local.errors import ServiceError
        from facesite.local.postgres import EmbeddedPostgres

        try:
            EmbeddedPostgres.from_settings().ensure_running()
        except ServiceError as exc:
            sys.exit(f"error: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
