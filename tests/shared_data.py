"""Where the full public datasets live, for the tests that import them whole.

`SHARED_DATA` names the folder; otherwise the tests look beside the checkout (`../shared/data`)
and at the workspace's usual place. Tests needing it are skipped, with the reason, when absent.
"""

import os
from pathlib import Path

CANDIDATES = [
    os.environ.get("SHARED_DATA", ""),
    Path(__file__).resolve().parents[2] / "shared" / "data",
    "/work/shared/data",
]
SHARED = next((Path(c) for c in CANDIDATES if c and Path(c).is_dir()), Path(CANDIDATES[1]))
