"""PostgreSQL only: each organisation link carries its incident's list and feed order, kept
by triggers.

An organisation's feed is its newest published incidents, and its list page its newest
incidents by date. Read down the incidents' own indexes, an organisation whose incidents were
all published long ago (a dataset imported early) or all happened in other years has
PostgreSQL test most of the base before it finds a page. With the order on the link rows, an
index per organisation gives a page at once. No model declares these columns: like an index,
they are the database's business, filled by a trigger when a link is written and followed by
another when an incident's status, visibility, dates or number change.
"""

from django.db import migrations

COLUMNS = """
ALTER TABLE incidents_incidentorganisation
    ADD COLUMN incident_listed boolean NOT NULL DEFAULT false,
    ADD COLUMN incident_published_at timestamp with time zone,
    ADD COLUMN incident_sort_date timestamp with time zone,
    ADD COLUMN incident_number integer
"""

LINK_FILLED = """
CREATE FUNCTION incidents_organisation_link_filled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT i.status = 'published' AND i.visibility = 'public', i.published_at,
           COALESCE(i.occurred_at, i.published_at, i.created_at), i.number
      INTO NEW.incident_listed, NEW.incident_published_at, NEW.incident_sort_date,
           NEW.incident_number
      FROM incidents_incident i WHERE i.id = NEW.incident_id;
    RETURN NEW;
END $$
"""

LINK_FILLED_TRIGGER = """
CREATE TRIGGER organisation_link_filled
    BEFORE INSERT OR UPDATE OF incident_id ON incidents_incidentorganisation
    FOR EACH ROW EXECUTE FUNCTION incidents_organisation_link_filled()
"""

INCIDENT_FOLLOWED = """
CREATE FUNCTION incidents_organisation_links_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incidents_incidentorganisation
       SET incident_listed = NEW.status = 'published' AND NEW.visibility = 'public',
           incident_published_at = NEW.published_at,
           incident_sort_date = COALESCE(NEW.occurred_at, NEW.published_at, NEW.created_at),
           incident_number = NEW.number
     WHERE incident_id = NEW.id;
    RETURN NULL;
END $$
"""

INCIDENT_FOLLOWED_TRIGGER = """
CREATE TRIGGER organisation_links_follow
    AFTER UPDATE OF status, visibility, published_at, occurred_at, created_at, number
    ON incidents_incident
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.visibility IS DISTINCT FROM NEW.visibility
          OR OLD.published_at IS DISTINCT FROM NEW.published_at
          OR OLD.occurred_at IS DISTINCT FROM NEW.occurred_at
          OR OLD.created_at IS DISTINCT FROM NEW.created_at
          OR OLD.number IS DISTINCT FROM NEW.number)
    EXECUTE FUNCTION incidents_organisation_links_follow()
"""

FILLED = """
UPDATE incidents_incidentorganisation AS link
   SET incident_listed = i.status = 'published' AND i.visibility = 'public',
       incident_published_at = i.published_at,
       incident_sort_date = COALESCE(i.occurred_at, i.published_at, i.created_at),
       incident_number = i.number
  FROM incidents_incident AS i
 WHERE i.id = link.incident_id
"""

FEED_INDEX = """
CREATE INDEX organisation_link_feed ON incidents_incidentorganisation
    (organisation_id, incident_published_at DESC, incident_number DESC)
    WHERE incident_listed AND incident_published_at IS NOT NULL
"""

LIST_INDEX = """
CREATE INDEX organisation_link_list ON incidents_incidentorganisation
    (organisation_id, incident_sort_date DESC, incident_number DESC)
    WHERE incident_listed
"""

STEPS = [
    COLUMNS,
    LINK_FILLED,
    LINK_FILLED_TRIGGER,
    INCIDENT_FOLLOWED,
    INCIDENT_FOLLOWED_TRIGGER,
    FILLED,
    FEED_INDEX,
    LIST_INDEX,
]

UNDONE = [
    "DROP TRIGGER IF EXISTS organisation_links_follow ON incidents_incident",
    "DROP FUNCTION IF EXISTS incidents_organisation_links_follow()",
    "DROP TRIGGER IF EXISTS organisation_link_filled ON incidents_incidentorganisation",
    "DROP FUNCTION IF EXISTS incidents_organisation_link_filled()",
    """ALTER TABLE incidents_incidentorganisation
    DROP COLUMN IF EXISTS incident_listed,
    DROP COLUMN IF EXISTS incident_published_at,
    DROP COLUMN IF EXISTS incident_sort_date,
    DROP COLUMN IF EXISTS incident_number""",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in STEPS:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in UNDONE:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0035_staff_list_order")]

    operations = [migrations.RunPython(forwards, backwards)]
