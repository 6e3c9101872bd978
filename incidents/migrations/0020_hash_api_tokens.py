"""API keys used to be stored in clear (DRF's authtoken table). Each is moved to knox's table as
knox stores a key, a SHA-512 digest and a short lookup prefix, so tools keep working with the key
they hold; then the clear-text table is dropped."""

import hashlib
from datetime import UTC

from django.db import migrations
from django.utils import timezone
from django.utils.dateparse import parse_datetime

CLEAR_TEXT_TABLE = "authtoken_token"
KNOX_LOOKUP_PREFIX_LENGTH = 15  # knox.settings.CONSTANTS.TOKEN_KEY_LENGTH


def hash_clear_text_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if CLEAR_TEXT_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    table = schema_editor.quote_name(CLEAR_TEXT_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {table}")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        digest = hashlib.sha512(key.encode()).hexdigest()
        AuthToken(
            digest=digest, token_key=key[:KNOX_LOOKUP_PREFIX_LENGTH], user_id=user_id, expiry=None
        ).save(force_insert=True)
        # `created` is filled in on insert; keep the date the reporter made the key.
        if isinstance(created, str):
            created = parse_datetime(created)
        if timezone.is_naive(created):
            created = timezone.make_aware(created, UTC)
        AuthToken.objects.filter(digest=digest).update(created=created)
    schema_editor.execute(f"DROP TABLE {table}")


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0019_pending_work"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        # The keys cannot be recovered from their digests: going back leaves knox's table as is.
        migrations.RunPython(hash_clear_text_tokens, migrations.RunPython.noop),
    ]
