"""Output paths that never lose data: atomic writes and claimed output folders.

* :func:`atomic_output` is the one way tfface writes a file or a folder: into
  a temporary sibling, moved into place only when complete.
* :func:`claim_output_folder` guards every ``--out`` folder: a folder that
  already holds files and is not a previous output of the same command
  (:data:`OUTPUT_MARKER`) is refused unless ``overwrite``; even then tfface
  only replaces the files it writes itself. Temporaries of killed runs are
  removed when a folder is claimed again (:func:`remove_stale_temporaries`).
* :func:`output_folder_for` claims a folder for a block and, when the block
  writes nothing, undoes the claim (removes the folder it created).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from typing import Iterable, Iterator

from tfface.errors import TfFaceError

OUTPUT_MARKER = ".tfface-output.json"
"""Marker file naming the tfface command whose outputs a folder holds."""
LOCK_FILE = ".tfface-lock"
"""Held (``flock``) while a command writes into a folder; gone when it ends."""


def _check_writable_parent(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise TfFaceError(f"{path}: output folder is missing or not writable; "
                          "create it or choose another --out")


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; move it into place on success.

    Works for files and folders (the caller creates either at the yielded
    path). On any error the temporary is removed and ``path`` is untouched.
    An existing folder at ``path`` is never removed: that is an error.
    """
    path = os.fspath(path).rstrip(os.sep) or os.sep
    _check_writable_parent(path)
    if os.path.isdir(path):
        raise TfFaceError(f"{path}: is a folder; choose a file name for this output")
    folder, name = os.path.split(path)
    root, ext = os.path.splitext(name)
    tmp = os.path.join(folder, f".{root}.partial-{os.getpid()}{ext}")  # hidden: no glob sees it
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.lexists(tmp):
            os.remove(tmp)


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


def write_json_atomic(path: str, document: object) -> None:
    """``json.dump`` ``document`` to ``path`` atomically (indented, UTF-8)."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)


_TEMPORARY = re.compile(r"^\.(?:.+\.partial|tfface-export)-(\d+)")
"""Names of tfface's temporaries; the number is the writing process's id."""


def remove_stale_temporaries(folder: str) -> int:
    """Remove temporaries in ``folder`` left by tfface processes that no
    longer run (killed mid-write); returns how many were removed."""
    removed = 0
    for name in os.listdir(folder):
        match = _TEMPORARY.match(name)
        if not match or _process_alive(int(match.group(1))):
            continue
        path = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _marker_command(folder: str) -> str | None:
    try:
        with open(os.path.join(folder, OUTPUT_MARKER), encoding="utf-8") as handle:
            return str(json.load(handle).get("command"))
    except (OSError, ValueError, AttributeError):
        return None


def claim_output_folder(path: str, command: str, overwrite: bool = False) -> str:
    """Create or re-use ``path`` as the output folder of ``command``.

    An empty or missing folder, or a previous output of the same command
    (its :data:`OUTPUT_MARKER` names ``command``), is used as it is. Any
    other existing content is refused with a one-line :class:`TfFaceError`
    unless ``overwrite``. Nothing is deleted here but tfface's own temporaries
    of killed runs. Returns ``path``.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise TfFaceError(f"{path}: exists and is not a folder; choose another --out")
    try:
        os.makedirs(path, exist_ok=True)
        remove_stale_temporaries(path)
        content = [name for name in os.listdir(path) if name not in (OUTPUT_MARKER, LOCK_FILE)]
    except OSError as error:
        raise TfFaceError(f"{path}: cannot create output folder ({error.strerror}); "
                          "choose another --out") from None
    previous = _marker_command(path)
    if content and previous != command and not overwrite:
        whose = f"output of `{previous}`" if previous else "files tfface did not write"
        raise TfFaceError(f"{path}: folder already holds {whose}; choose an empty --out, "
                          "or pass --overwrite to replace only the files this command writes")
    if previous != command:
        write_json_atomic(os.path.join(path, OUTPUT_MARKER), {"command": command})
    return path


@contextlib.contextmanager
def output_folder_for(path: str, command: str, overwrite: bool = False) -> Iterator[str]:
    """:func:`claim_output_folder` for the block; when the block ends (or
    raises) without having written anything, the claim is undone: a folder
    created for it is removed, a marker added to an empty folder is deleted
    (a refused photo, or a folder of photos that all failed, leaves no empty
    output behind)."""
    created = not os.path.exists(path)
    had_marker = os.path.exists(os.path.join(path, OUTPUT_MARKER))
    folder = claim_output_folder(path, command, overwrite)
    try:
        yield folder
    finally:
        with contextlib.suppress(OSError):
            if not set(os.listdir(folder)) - {OUTPUT_MARKER, LOCK_FILE}:
                if created:
                    shutil.rmtree(folder)
                elif not had_marker:
                    os.remove(os.path.join(folder, OUTPUT_MARKER))


@contextlib.contextmanager
def folder_lock(folder: str, command: str) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` for the block, or fail at once with
    a one-line :class:`TfFaceError` when another process holds it. The lock
    dies with its process (``flock``), so a killed run never blocks the next."""
    import fcntl
    path = os.path.join(folder, LOCK_FILE)
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise TfFaceError(f"{folder}: another `tfface {command}` is writing into this folder; "
                          "wait for it to finish or choose another --out") from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
        handle.close()


def replace_entries(source: str, target: str, names: Iterable[str]) -> None:
    """Move each of ``names`` from folder ``source`` into folder ``target``,
    replacing only the entries of the same name there (files or folders)."""
    os.makedirs(target, exist_ok=True)
    for name in names:
        destination = os.path.join(target, name)
        if os.path.isdir(destination) and not os.path.islink(destination):
            shutil.rmtree(destination)
        elif os.path.lexists(destination):
            os.remove(destination)
        os.replace(os.path.join(source, name), destination)
