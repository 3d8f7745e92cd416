"""Quiet by default: TensorFlow's native start-up and converter logs kept off the console.

TensorFlow, XLA and the TFLite converter write their C++ logs (CUDA stubs,
``cuInit`` failures, oneDNN notes, MLIR pass dumps) straight to file
descriptor 2, and some of them before any log level applies. While
:func:`native_logs_silenced` is active, descriptor 2 goes to ``os.devnull``
and Python's ``sys.stderr`` to a duplicate of the real stderr, so tfface's
own messages, progress bars and Python warnings still show. Commands run
inside it unless ``--verbose`` is given; scripts (``benchmarks/``) call
:func:`quiet_script` before they import TensorFlow.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from typing import Iterator

VERBOSE_ENV = "TFFACE_VERBOSE"
"""Set to 1, :func:`quiet_script` leaves native logs on the console."""
NOISY_LOGGERS = ("tensorflow", "absl", "tf2onnx", "h5py", "jax")


@contextlib.contextmanager
def native_logs_silenced() -> Iterator[None]:
    """Send native (C/C++) stderr output to ``os.devnull`` for the block."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    sys.stderr.flush()
    try:
        on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # e.g. a test's captured stream
        on_fd2 = False
    saved = os.dup(2)
    python_stderr = sys.stderr
    if on_fd2:
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8",
                               errors="replace")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        if on_fd2:
            sys.stderr.close()
            sys.stderr = python_stderr


def quiet_script() -> None:
    """:func:`native_logs_silenced` for the rest of a script's process, unless
    the environment sets ``TFFACE_VERBOSE=1`` (:data:`VERBOSE_ENV`). Call it
    before TensorFlow is imported: some of its logs come at import, before
    any log level applies."""
    if os.environ.get(VERBOSE_ENV, "0") not in ("", "0"):
        return
    silenced = native_logs_silenced()
    silenced.__enter__()
    atexit.register(silenced.__exit__, None, None, None)
