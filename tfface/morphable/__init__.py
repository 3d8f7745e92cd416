"""Morphable face models: the model class, its npz layout, loaders, the shipped models."""

import functools
import os
from typing import Optional

from tfface.config import BUILTIN_MODEL_NAMES
from tfface.morphable.default import default_model
from tfface.morphable.demo import demo_model
from tfface.morphable.model import MorphableModel, NUM_LANDMARKS

BUILTIN_MODELS = dict(zip(BUILTIN_MODEL_NAMES, (default_model, demo_model)))
"""Models shipped in the package, by name (``--model ict``, ``--model demo``)."""


def load_model(path: Optional[str] = None) -> MorphableModel:
    """The model ``.npz`` at ``path``, a built-in model by name (``ict``,
    ``demo``), or the default ICT-FaceKit model when None."""
    if path is None:
        return default_model()
    if path in BUILTIN_MODELS:
        return BUILTIN_MODELS[path]()
    try:
        stat = os.stat(path)
    except OSError:
        return MorphableModel.load(path)  # its one-line error names the file
    return _load_file(os.path.realpath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _load_file(path: str, mtime_ns: int, size: int) -> MorphableModel:
    """A model file loaded once per version (training builds its renderer and
    its data's alignment template from the same model)."""
    return MorphableModel.load(path)


__all__ = ["BUILTIN_MODELS", "MorphableModel", "NUM_LANDMARKS", "default_model", "demo_model",
           "load_model"]
