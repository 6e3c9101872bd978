from django.contrib.auth.management import create_permissions
from django.db import migrations

TAXONOMY_MODELS = ["severity", "perpetratorkind", "organisation", "aisystem", "tag", "policychange",
                   "policychangeincident", "policysource", "duplicateflag", "importjob"]  # fmt: skip

GROUPS = {
    "reporter": ["file_incident"],
    "reviewer": ["review_incident", "view_internal"],
    "editor": ["file_incident", "review_incident", "retract_incident", "view_internal"]
    + [f"{verb}_{model}" for model in TAXONOMY_MODELS for verb in ("add", "change", "view")],
    "viewer": ["view_internal"],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="incidents", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0005_review_flow"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
