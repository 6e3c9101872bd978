from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = [f"{verb}_crosswalkentry" for verb in ("add", "change", "delete", "view")] + [
    "view_sourceterm"
]


def editors_edit_crosswalk(apps, schema_editor):
    # Permissions are normally created after all migrations; the editor group needs them now.
    app_config = apps.get_app_config("incidents")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editor, _ = Group.objects.get_or_create(name="editor")
    editor.permissions.add(
        *Permission.objects.filter(content_type__app_label="incidents", codename__in=CODENAMES)
    )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0026_crosswalk")]

    operations = [migrations.RunPython(editors_edit_crosswalk, migrations.RunPython.noop)]
