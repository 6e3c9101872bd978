"""The REST API under /api/v1/: public reads of published records, and reporters' drafts."""
