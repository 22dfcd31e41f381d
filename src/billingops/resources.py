"""Where the files shipped with billingops live: terraform/, runbooks/, migrations/.

In a wheel they sit in billingops/_bundled/; in a source checkout (editable install) they are the
repository's top-level folders, which stay the source of truth.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled_path(name: str) -> Path:
    packaged = _PACKAGE / "_bundled" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parents[1] / name
