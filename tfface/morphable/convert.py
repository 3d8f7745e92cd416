"""``tfface convert-model``: one entry point over the model-format loaders."""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from tfface.errors import ModelFileError
from tfface.morphable.bfm import load_bfm2009, load_bfm2017, load_bfm_front
from tfface.morphable.eos import load_eos_model
from tfface.morphable.ict import load_ict_facekit
from tfface.morphable.model import NUM_LANDMARKS, MorphableModel

FORMATS = ("npz", "eos", "bfm2009", "bfm-front", "bfm2017", "ict")


def read_landmarks(path: str) -> np.ndarray:
    """68 vertex ids from a text file (whitespace separated, 0-based) or a model npz."""
    if path.endswith(".npz"):
        return MorphableModel.load(path).landmark_indices
    try:
        ids = np.loadtxt(path, dtype=np.int64).reshape(-1)
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{path}: cannot read landmark ids ({error}); "
                             "give 68 integers, one per line") from None
    if ids.size != NUM_LANDMARKS:
        raise ModelFileError(f"{path}: {ids.size} landmark ids, expected {NUM_LANDMARKS}")
    return ids


def convert(fmt: str, path: str, expressions: Optional[str] = None,
            landmarks: Optional[str] = None) -> MorphableModel:
    """Load a model in format ``fmt`` (one of :data:`FORMATS`)."""
    if not os.path.exists(path):
        raise ModelFileError(f"{path}: no such file or folder; check the path")
    ids = None if landmarks is None else read_landmarks(landmarks)
    if fmt == "npz":
        return MorphableModel.load(path)
    if fmt == "eos":
        return load_eos_model(path, expressions, ids)
    if fmt == "bfm2009":
        return load_bfm2009(path, expressions, ids)
    if fmt == "bfm-front":
        return load_bfm_front(path)
    if fmt == "bfm2017":
        return load_bfm2017(path, ids)
    if fmt == "ict":
        return load_ict_facekit(path)
    raise ModelFileError(f"unknown model format '{fmt}'; use one of {FORMATS}")
