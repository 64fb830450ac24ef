"""The "operator" role is a group: operators run the live page as a kiosk and see all attendance."""

from django.db import migrations

OPERATOR_GROUP = "operator"  # accounts.roles.OPERATOR_GROUP, copied: a migration must not import app code


def create_operator_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=OPERATOR_GROUP)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_operator_group, migrations.RunPython.noop)]
