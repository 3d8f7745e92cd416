"""Output paths that never lose data: atomic writes and claimed output folders.

* :func:`atomic_output` is the one way tfface writes a file or a folder: into
  a temporary sibling, moved into place only when complete.
* :func:`claim_output_folder` guards every ``--out`` folder: a folder that
  already holds files and is not a previous output of the same command
  (:data:`OUTPUT_MARKER`) is refused unless ``overwrite``; even then tfface
  only replaces the files it writes itself.
* :func:`claim_output_file` guards a single output file the same way: an
  existing file is replaced only when ``owned`` proves from its content that
  tfface wrote it, or with ``overwrite``.
* Temporaries carry :data:`TEMPORARY_PREFIX`, a name no user would choose.
  Those of killed runs are removed only after the ownership check: all of
  them in a folder tfface owns, and in any other folder only those of the
  file being written (:func:`remove_stale_temporaries`).
* :func:`output_folder_for` claims a folder for a block and, when the block
  writes nothing, undoes the claim (removes the folder it created).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
from typing import Callable, Iterable, Iterator, Optional

from tfface.errors import TfFaceError

OUTPUT_MARKER = ".tfface-output.json"
"""Marker file naming the tfface command whose outputs a folder holds."""
LOCK_FILE = ".tfface-lock"
"""Held (``flock``) while a command writes into a folder; gone when it ends."""
TEMPORARY_PREFIX = ".tfface-partial-"
"""Start of every temporary's name: ``.tfface-partial-<pid>-<token>-<name>``."""
_TEMPORARY = re.compile(r"^\.tfface-partial-(\d+)-[0-9a-f]{12}-(.*)$", re.DOTALL)


def temporary_name(name: str) -> str:
    """A hidden sibling name for a temporary of ``name`` (no glob sees it);
    it names this process, so a later run can tell a killed run's leftovers."""
    return f"{TEMPORARY_PREFIX}{os.getpid()}-{secrets.token_hex(6)}-{name}"


class InputFileError(TfFaceError):
    """An input path that is no readable regular file; ``reason``:
    ``missing``, ``unreadable`` or ``not_a_file``, ``detail``: why, in words."""

    def __init__(self, path: str, reason: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.reason, self.detail = reason, detail


def check_input_file(path: str) -> None:
    """Raise :class:`InputFileError` unless ``path`` is a regular, readable
    file (a device, FIFO or socket could block or never end, so it is
    refused before it is opened)."""
    import stat
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputFileError(path, "missing", "no such file; check the path") from None
    except OSError as error:
        raise InputFileError(path, "unreadable", f"cannot read it ({error.strerror}); "
                             "check the path") from None
    if stat.S_ISDIR(mode):
        raise InputFileError(path, "not_a_file", "is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise InputFileError(path, "not_a_file", "not a regular file (a device, FIFO or "
                             "socket); give a photo or video file")
    if not os.access(path, os.R_OK):
        raise InputFileError(path, "unreadable",
                             "no permission to read it; check the file's permissions")


OUT_OF_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
"""``OSError.errno`` values of a write that found no room."""


def out_of_space(path: str) -> TfFaceError:
    """The one-line error of an output that did not fit on its disk."""
    return TfFaceError(f"{path}: no space left on the device to write it (nothing was "
                       "written); free some space or choose another --out")


def _check_writable_parent(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise TfFaceError(f"{path}: output folder is missing or not writable; "
                          "create it or choose another --out")


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; move it into place on success.

    Works for files and folders (the caller creates either at the yielded
    path). On any error the temporary is removed and ``path`` is untouched;
    a full disk becomes a one-line :func:`out_of_space` error. An existing
    folder at ``path`` is never removed: that is an error.
    """
    path = os.fspath(path).rstrip(os.sep) or os.sep
    _check_writable_parent(path)
    if os.path.isdir(path):
        raise TfFaceError(f"{path}: is a folder; choose a file name for this output")
    folder, name = os.path.split(path)
    root, ext = os.path.splitext(name)
    tmp = os.path.join(folder, temporary_name(root) + ext)  # keeps the suffix writers key on
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        if error.errno in OUT_OF_SPACE:
            raise out_of_space(path) from None
        raise
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


def remove_stale_temporaries(folder: str, target: Optional[str] = None) -> int:
    """Remove temporaries in ``folder`` left by tfface processes that no
    longer run (killed mid-write); returns how many were removed.

    Call it only after the ownership check. ``target``: in a folder tfface
    does not own, the name of the file being written; only temporaries of
    that name (its stem, as :func:`atomic_output` writes them) are removed."""
    removed = 0
    stems = None if target is None else {target, os.path.splitext(target)[0]}
    for name in os.listdir(folder):
        match = _TEMPORARY.match(name)
        if not match or _process_alive(int(match.group(1))):
            continue
        if stems is not None and not any(match.group(2) == stem or
                                         match.group(2).startswith(stem + ".") for stem in stems):
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
        content = [name for name in os.listdir(path) if name not in (OUTPUT_MARKER, LOCK_FILE)]
    except OSError as error:
        raise TfFaceError(f"{path}: cannot create output folder ({error.strerror}); "
                          "choose another --out") from None
    previous = _marker_command(path)
    if content and previous != command and not overwrite:
        whose = f"output of `{previous}`" if previous else "files tfface did not write"
        raise TfFaceError(f"{path}: folder already holds {whose}; choose an empty --out, "
                          "or pass --overwrite to replace only the files this command writes")
    with contextlib.suppress(OSError):
        remove_stale_temporaries(path)
    if previous != command:
        write_json_atomic(os.path.join(path, OUTPUT_MARKER), {"command": command})
    return path


def claim_output_file(path: str, owned: Callable[[str], bool], overwrite: bool = False,
                      what: str = "a tfface output") -> str:
    """Check that ``path`` may be written as a single output file.

    A missing ``path`` is free; an existing file is replaced only when
    ``owned(path)`` proves from its content that tfface wrote it (e.g. a
    sidecar whose hash matches), or with ``overwrite``. Stale temporaries of
    this file are removed after the check. Returns ``path``."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise TfFaceError(f"{path}: is a folder; choose a file name for this output")
    if os.path.lexists(path) and not overwrite and not owned(path):
        raise TfFaceError(f"{path}: exists and is not {what}; choose another --out "
                          "or pass --overwrite")
    folder, name = os.path.split(os.path.abspath(path))
    with contextlib.suppress(OSError):
        remove_stale_temporaries(folder, target=name)
    return path


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    import hashlib
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_missing(path: str) -> Optional[str]:
    """The outermost folder of ``path`` that does not exist yet (None: all do)."""
    missing = None
    path = os.path.abspath(path)
    while not os.path.exists(path):
        missing, path = path, os.path.dirname(path)
    return missing


@contextlib.contextmanager
def output_folder_for(path: str, command: str, overwrite: bool = False) -> Iterator[str]:
    """:func:`claim_output_folder` and :func:`folder_lock` for the block; when
    the block ends (or raises) without having written anything, the claim is
    undone: folders created for it (``--out a/b/c``: all three) are removed,
    a marker added to an empty folder is deleted (a refused photo, or a
    folder of photos that all failed, leaves no empty output behind). The
    lock spans the undoing, so a second run never loses a folder it joined."""
    created = _first_missing(path)
    had_marker = os.path.exists(os.path.join(path, OUTPUT_MARKER))
    folder = claim_output_folder(path, command, overwrite)
    with folder_lock(folder, command):
        try:
            yield folder
        finally:
            with contextlib.suppress(OSError):
                if not set(os.listdir(folder)) - {OUTPUT_MARKER, LOCK_FILE}:
                    if created:
                        shutil.rmtree(folder)
                        _remove_empty_parents(folder, created)
                    elif not had_marker:
                        os.remove(os.path.join(folder, OUTPUT_MARKER))


def _remove_empty_parents(folder: str, top: str) -> None:
    """Remove the now empty parents of ``folder`` up to ``top``, which this
    run created, and no further."""
    folder, top = os.path.abspath(folder), os.path.abspath(top)
    while folder != top and folder.startswith(top + os.sep):
        folder = os.path.dirname(folder)
        if os.listdir(folder):
            return
        os.rmdir(folder)


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
