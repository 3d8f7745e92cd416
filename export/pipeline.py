"""Export, verify, then publish: no output file unless parity holds."""

from __future__ import annotations

import os
import shutil
from typing import Dict, Optional

import keras
import numpy as np

from . import FORMATS
from .converters import to_onnx, to_savedmodel, to_tflite
from .parity import MESH_TOLERANCE_PCT, format_table, parity_report
from .signature import (describe, embed_tflite_metadata, sidecar_path, written_by_export,
                        write_sidecar)
from tfface.errors import TfFaceError
from tfface.face_loss import FaceLoss
from tfface.io_utils import (OUTPUT_MARKER, claim_output_file, claim_output_folder,
                             replace_entries, temporary_name, write_bytes_atomic,
                             write_json_atomic)
from tfface.morphable import MorphableModel
from tfface.params import FaceParams
from tfface.runtime import load_encoder

SAVEDMODEL_COMMAND = "export savedmodel"
"""Marker command of a SavedModel folder written by :func:`export_encoder`."""


def export_encoder(encoder: keras.Model, layout: FaceParams, model: MorphableModel, fmt: str,
                   out: str, samples: np.ndarray, int8_io: bool = False,
                   verbose: bool = True, overwrite: bool = False,
                   face_loss: Optional[FaceLoss] = None) -> Dict[str, float]:
    """Convert ``encoder`` to ``fmt``, verify it on ``samples`` and write ``out``.

    ``samples`` ``[N, S, S, 3]`` (0..255) serve as the parity inputs and, for
    ``tflite-int8``, as the representative dataset. On a parity failure
    nothing is left at ``out``; a :class:`TfFaceError` says by how much.
    An existing ``out`` that is not a previous tfface export is refused
    unless ``overwrite``: a file export is tfface's only when its sidecar
    (``out + ".json"``) holds the file's hash (:func:`written_by_export`),
    and a foreign sidecar is refused too; a SavedModel folder only has its
    SavedModel entries replaced, never other files in it. ``face_loss`` (the encoder's,
    :func:`tfface.face_loss.encoder_loss`) goes into the description.
    """
    if fmt not in FORMATS:
        raise TfFaceError(f"unknown export format '{fmt}'; use one of {FORMATS}")
    out = out.rstrip(os.sep) or out
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise TfFaceError(f"{out}: output folder is missing or not writable")
    _check_target(out, fmt, overwrite)
    staging = os.path.join(folder, temporary_name(os.path.basename(out) + ".export"))
    os.mkdir(staging)
    try:
        staged = os.path.join(staging, os.path.basename(out) or "model")
        description = describe(layout, int(encoder.input_shape[1]), fmt,
                               int8_io and fmt == "tflite-int8",
                               None if face_loss is None else face_loss.get_config(), model)
        if fmt.startswith("tflite"):
            variant = fmt.split("-", 1)[1]
            write_bytes_atomic(staged, embed_tflite_metadata(
                to_tflite(encoder, variant, samples, int8_io), description))
        elif fmt == "onnx":
            write_bytes_atomic(staged, to_onnx(encoder))
        else:
            to_savedmodel(encoder, staged)
        reference = np.asarray(encoder.predict(samples, verbose=0))
        exported = load_encoder(staged).predict(samples)
        report = parity_report(layout, model, reference, exported)
        tolerance = MESH_TOLERANCE_PCT[fmt]
        if verbose:
            print(format_table(fmt, report, tolerance))
        if not report["mesh_error_pct_width"] <= tolerance:
            raise TfFaceError(f"{out}: {fmt} parity failed (mesh error "
                              f"{report['mesh_error_pct_width']:.3g}% of face width > "
                              f"{tolerance}%); nothing written")
        if fmt == "savedmodel":
            entries = sorted(os.listdir(staged))
            write_json_atomic(os.path.join(staged, OUTPUT_MARKER), {"command": SAVEDMODEL_COMMAND})
            replace_entries(staged, out, entries + [OUTPUT_MARKER])
        else:
            os.replace(staged, out)
        write_sidecar(out, description)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_target(out: str, fmt: str, overwrite: bool) -> None:
    """Refuse an ``out`` that holds something tfface's export did not write."""
    if fmt == "savedmodel":
        if os.path.exists(out) and not os.path.isdir(out):
            raise TfFaceError(f"{out}: exists and is not a folder; choose another --out")
        if os.path.isdir(out) and os.listdir(out):
            claim_output_folder(out, SAVEDMODEL_COMMAND, overwrite)
    elif os.path.isdir(out):
        raise TfFaceError(f"{out}: is a folder; give a file name for {fmt}")
    ours = written_by_export(out)  # hashes the model file once, for both checks
    if fmt != "savedmodel":
        claim_output_file(out, lambda _: ours, overwrite, "a tfface export")
    sidecar = sidecar_path(out)
    if os.path.lexists(sidecar) and not overwrite and not ours:
        raise TfFaceError(f"{sidecar}: exists and is not the sidecar of a tfface export; "
                          "choose another --out or pass --overwrite")


def default_samples(encoder: keras.Model, count: int = 16, seed: int = 0,
                    model: Optional[MorphableModel] = None) -> np.ndarray:
    """Synthetic faces rendered at the encoder's input size (parity/representative)."""
    from tfface.data.synthetic import render_synthetic
    from tfface.layers import Renderer
    from tfface.morphable import default_model
    size = int(encoder.input_shape[1])
    renderer = Renderer.from_model(model or default_model(), (size, size))
    return render_synthetic(renderer, count, seed=seed)["image"]
