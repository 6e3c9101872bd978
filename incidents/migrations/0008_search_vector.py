"""Full-text search: the stored search vector, and on PostgreSQL its GIN index, pg_trgm and
trigram indexes for names typed slightly wrong. Other databases get the (empty) column only."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class AddIndexOnPostgres(migrations.AddIndex):
    """GIN indexes exist only on PostgreSQL; elsewhere the index is recorded but not built."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


# Organisation names are matched by trigrams for "did you mean"; taxonomy.py does not declare
# this index, so it lives here only.
ORGANISATION_INDEX = (
    "CREATE INDEX IF NOT EXISTS organisation_name_trigram "
    "ON incidents_organisation USING gin (name gin_trgm_ops)"
)
DROP_ORGANISATION_INDEX = "DROP INDEX IF EXISTS organisation_name_trigram"

# The vectors of incidents that already exist, as `services.search_index_update` builds them
# (frozen here: a migration must not change when that service does).
FILL_VECTORS = """
UPDATE incidents_incident AS i SET search_vector =
    setweight(to_tsvector('english', coalesce(i.title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(i.summary, '')), 'B')
    || setweight(to_tsvector('english',
        coalesce((SELECT string_agg(DISTINCT o.name, ' ') FROM incidents_incidentorganisation io
                  JOIN incidents_organisation o ON o.id = io.organisation_id
                  WHERE io.incident_id = i.id), '') || ' ' ||
        coalesce((SELECT string_agg(DISTINCT s.name, ' ') FROM incidents_incident_ai_systems x
                  JOIN incidents_aisystem s ON s.id = x.aisystem_id
                  WHERE x.incident_id = i.id), '') || ' ' ||
        coalesce((SELECT string_agg(DISTINCT t.name, ' ') FROM incidents_incident_tags x
                  JOIN incidents_tag t ON t.id = x.tag_id
                  WHERE x.incident_id = i.id), '')), 'C')
    || setweight(to_tsvector('english', coalesce(i.narrative, '')), 'D')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_notifications"),
    ]

    operations = [
        TrigramExtension(),  # a no-op except on PostgreSQL
        migrations.AddField(
            model_name="incident",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        AddIndexOnPostgres(
            model_name="incident",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="incident_search_vector"
            ),
        ),
        AddIndexOnPostgres(
            model_name="incident",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass("title", name="gin_trgm_ops"),
                name="incident_title_trigram",
            ),
        ),
        migrations.RunPython(
            on_postgres(ORGANISATION_INDEX), on_postgres(DROP_ORGANISATION_INDEX), elidable=True
        ),
        migrations.RunPython(on_postgres(FILL_VECTORS), migrations.RunPython.noop, elidable=True),
    ]
