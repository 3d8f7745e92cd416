"""The exported model's contract for app developers: a JSON sidecar, and
embedded in ``.tflite`` files as model metadata."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional

import numpy as np

from tfface.faces.align import LEVEL_BEYOND_DEGREES
from tfface.faces.mesh_map import IBUG_FROM_MESH
from tfface.io_utils import file_sha256, write_json_atomic
from tfface.params import FaceParams
from tfface.pinhole import PinholeCamera


def describe(layout: FaceParams, input_size: int, fmt: str, int8_io: bool = False,
             face_loss: Optional[Dict[str, Any]] = None,
             model=None) -> Dict[str, Any]:
    """Input/output description of an exported encoder; ``face_loss``: the
    config of the :class:`tfface.face_loss.FaceLoss` it was trained with,
    kept under ``"face_loss"`` so fitting can use it
    (:func:`tfface.face_loss.encoder_loss`); ``model``: the encoder's
    :class:`tfface.morphable.MorphableModel`, for :func:`pipeline_contract`."""
    offsets, groups = 0, []
    for name, size in layout.sizes.items():
        entry: Dict[str, Any] = {"name": name, "offset": offsets, "size": size}
        if name == "expression" and layout.expression_names:
            entry["names"] = list(layout.expression_names)
        groups.append(entry)
        offsets += size
    description = {
        "format": fmt,
        "input": {"name": "image", "shape": [1, input_size, input_size, 3],
                  "dtype": "int8" if int8_io else "float32",
                  "layout": "NHWC, RGB", "range": "0..255 (a face crop aligned to the mean-face "
                  "template, see tfface.faces.align.align_face)" + ("; int8 = quantized with the input "
                                                     "scale/zero point" if int8_io else "")},
        "output": {"name": "params", "shape": [1, layout.size],
                   "dtype": "int8" if int8_io else "float32",
                   "layout": "FaceParams (tfface.params), groups in order", "groups": groups,
                   "conventions": {"rotation": "pitch, yaw, roll radians; R = Rz Ry Rx",
                                   "translation": "model units (mm)",
                                   "scale": "log scale factor",
                                   "illumination": "9 SH coefficients x RGB, r0..r8 g0..g8 b0..b8"}},
    }
    if face_loss is not None:
        description["face_loss"] = face_loss
    if model is not None:
        description.update(pipeline_contract(model, input_size))
    return description


def pipeline_contract(model, input_size: int) -> Dict[str, Any]:
    """What an app needs around the encoder, without tfface: the 68 landmarks
    from MediaPipe's Face Landmarker (``"landmarks"``), the crop
    (``"alignment"``: :func:`tfface.faces.align.align_face` written out with
    its template), and the camera that params are posed in (``"camera"``),
    all in pixels with centres at integers (OpenCV)."""
    camera = PinholeCamera.for_model(model, (input_size, input_size))
    return {
        "landmarks": {
            "points": "68 iBUG points [68, 2], photo pixels",
            "from_mediapipe_478": [[int(a), int(b), round(float(t), 6)]
                                   for a, b, t in IBUG_FROM_MESH],
            "formula": "point k = (1 - t) P[a] + t P[b] for row k = [a, b, t]; P: MediaPipe "
                       "Face Landmarker's 478 points in pixels, (x W - 0.5, y H - 0.5) from "
                       "its normalised x, y",
        },
        "alignment": {
            "template": np.round(camera.mean_face_template(model), 6).tolist(),
            "formula": "q = template S - 0.5 (S = input side); p = the 68 landmarks; "
                       "p', q' = p, q less their means; dot = sum(p'x q'x + p'y q'y), cross = "
                       "sum(p'x q'y - p'y q'x); s = hypot(dot, cross) / sum(|p'|^2); "
                       "a = atan2(cross, dot); A = [[s, 0, mean(q)x - s mean(p)x], "
                       "[0, s, mean(q)y - s mean(p)y]]; crop = warpAffine(photo, A, (S, S), "
                       "bilinear, border replicated; area-averaged from a k-times larger "
                       "warp when s < 1, k = min(8, ceil(1 / s)))",
            "level_beyond_degrees": LEVEL_BEYOND_DEGREES,
            "levelled": "if |a| exceeds level_beyond_degrees, A also turns by a about mean(q): "
                        "its 2 x 2 part is s [[cos a, -sin a], [sin a, cos a]]; the face's "
                        "roll in the photo is then the params' roll plus a",
        },
        "camera": {
            "focal_px": float(camera.focal), "distance": float(camera.distance),
            "center": np.asarray(camera.center, np.float64).round(6).tolist(),
            "formula": "X = exp(scale) R (v - center) + translation, R = Rz(roll) Ry(yaw) "
                       "Rx(pitch), v a model vertex (mm); crop pixel x = (S - 1) / 2 + focal_px "
                       "X / (distance - Z), y = (S - 1) / 2 - focal_px Y / (distance - Z); "
                       "photo pixels: the inverse of A",
        },
    }


def sidecar_path(model_path: str) -> str:
    return model_path + ".json"


WRITTEN_BY = "tfface export"
"""The sidecar's ``written_by``; beside it, ``sha256`` of the exported file."""


def _hashed_file(model_path: str) -> str:
    """The file whose hash the sidecar records: the model file, or a
    SavedModel folder's ``saved_model.pb``."""
    return os.path.join(model_path, "saved_model.pb") if os.path.isdir(model_path) else model_path


def write_sidecar(model_path: str, description: Dict[str, Any]) -> str:
    """Write ``description`` beside ``model_path``, signed with the model's hash."""
    path = sidecar_path(model_path)
    write_json_atomic(path, {**description, "written_by": WRITTEN_BY,
                             "sha256": file_sha256(_hashed_file(model_path))})
    return path


def written_by_export(model_path: str) -> bool:
    """Whether ``model_path`` and its sidecar are a tfface export: the
    sidecar is ours and records the hash the model file has now."""
    try:
        with open(sidecar_path(model_path), encoding="utf-8") as handle:
            sidecar = json.load(handle)
        return (isinstance(sidecar, dict) and sidecar.get("written_by") == WRITTEN_BY
                and sidecar.get("sha256") == file_sha256(_hashed_file(model_path)))
    except (OSError, ValueError):
        return False


METADATA_NAME = "tfface_signature"
"""Name of the TFLite ``Model.metadata`` entry holding :func:`describe`'s JSON."""


def embed_tflite_metadata(tflite: bytes, description: Dict[str, Any]) -> bytes:
    """Add ``description`` as UTF-8 JSON in a ``Model.metadata`` entry
    (:data:`METADATA_NAME`) of a ``.tflite`` flatbuffer (TF's flatbuffer_utils)."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(description).encode(), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(model.buffers) - 1
    model.metadata = list(model.metadata or []) + [entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def read_tflite_metadata(path: str) -> Optional[Dict[str, Any]]:
    """The embedded description of a ``.tflite`` file, or None."""
    from tensorflow.lite.tools import flatbuffer_utils
    model = flatbuffer_utils.read_model(path)
    for entry in model.metadata or []:
        name = entry.name.decode() if isinstance(entry.name, bytes) else entry.name
        if name == METADATA_NAME:
            return json.loads(bytes(model.buffers[entry.buffer].data).decode())
    return None
