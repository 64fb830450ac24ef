from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Imported once the app registry is ready: settings.AUTH_USER_MODEL and the models behind services.
        from django.conf import settings
        from django.db.models.signals import pre_delete

        pre_delete.connect(_on_user_deleting, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts-erasure")


def _on_user_deleting(sender, instance, **kwargs) -> None:
    """Deleting an account erases its biometric data first (otherwise its Person stayed searchable)."""
    from accounts.services import erase_deleted_account  # imports models: not while apps.py itself loads

    erase_deleted_account(instance)
