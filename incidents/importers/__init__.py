"""One module per source format; `IMPORTERS` maps a source name to its importer."""

from .aiaaic import AIAAICImporter
from .aiid import AIIDImporter
from .base import ImportFailed, ImportSummary, run_import

IMPORTERS = {
    "aiid": AIIDImporter,
    "aiaaic": AIAAICImporter,
}

__all__ = ["IMPORTERS", "ImportFailed", "ImportSummary", "run_import"]
