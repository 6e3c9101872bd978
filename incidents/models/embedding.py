"""Sentence embeddings of incidents, for matching by meaning (`incidents.semantic`)."""

from django.db import models

from .incident import Incident


class IncidentEmbedding(models.Model):
    """One incident's title and summary as a unit vector (little-endian float16 bytes), with
    the model that made it and a hash of the text it was made from, so unchanged text is not
    embedded again and a new model replaces every vector."""

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, primary_key=True, related_name="embedding"
    )
    model = models.CharField(max_length=60)
    text_hash = models.CharField(max_length=64)
    vector = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self):
        return f"embedding of {self.incident_id} ({self.model})"
