"""The exported model's contract for app developers: a JSON sidecar, and
embedded in ``.tflite`` files as model metadata."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

import numpy as np

from tfface.io_utils import write_json_atomic
from tfface.params import FaceParams


def describe(layout: FaceParams, input_size: int, fmt: str, int8_io: bool = False,
             face_loss: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Input/output description of an exported encoder; ``face_loss``: the
    config of the :class:`tfface.face_loss.FaceLoss` it was trained with,
    kept under ``"face_loss"`` so fitting can use it
    (:func:`tfface.face_loss.encoder_loss`)."""
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
    return description


def sidecar_path(model_path: str) -> str:
    return model_path + ".json"


def write_sidecar(model_path: str, description: Dict[str, Any]) -> str:
    path = sidecar_path(model_path)
    write_json_atomic(path, description)
    return path


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
