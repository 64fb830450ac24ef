"""Create the first admin account when there is none (run by `make run`); prints generated credentials once."""

from django.core.management.base import BaseCommand

from accounts.conf import account_settings
from accounts.services import ensure_first_admin


class Command(BaseCommand):
    help = "Create the first superuser from ADMIN_USERNAME/ADMIN_PASSWORD (or a generated password) if none exists."

    def handle(self, *args, **options) -> None:
        conf = account_settings()
        created = ensure_first_admin(conf.admin_username, conf.admin_email, conf.admin_password)
        if created is None:
            return
        if created.password is None:
            self.stdout.write(f"Created admin account '{created.username}' with the password from ADMIN_PASSWORD.")
        else:
            banner = "=" * 72
            self.stdout.write(
                f"{banner}\nCreated the first admin account (shown only this once):\n"
                f"    username: {created.username}\n    password: {created.password}\n"
                f"Change it at /admin/password_change/ or with `python manage.py changepassword {created.username}`.\n"
                f"{banner}"
            )
