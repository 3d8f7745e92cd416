"""Output files that never exist half-written."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

from tfface.errors import TfFaceError


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; move it into place on success.

    On any error the temporary file is removed and ``path`` is untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise TfFaceError(f"{path}: output folder is missing or not writable; "
                          "create it or choose another --out")
    root, ext = os.path.splitext(path)
    tmp = f"{root}.partial-{os.getpid()}{ext}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
