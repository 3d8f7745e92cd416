"""The exported model's contract for app developers, written as a JSON sidecar."""

from __future__ import annotations

import json
from typing import Any, Dict

from tfface.params import FaceParams


def describe(layout: FaceParams, input_size: int, fmt: str, int8_io: bool = False) -> Dict[str, Any]:
    """Input/output description of an exported encoder."""
    offsets, groups = 0, []
    for name, size in layout.sizes.items():
        entry: Dict[str, Any] = {"name": name, "offset": offsets, "size": size}
        if name == "expression" and layout.expression_names:
            entry["names"] = list(layout.expression_names)
        groups.append(entry)
        offsets += size
    return {
        "format": fmt,
        "input": {"name": "image", "shape": [1, input_size, input_size, 3],
                  "dtype": "int8" if int8_io else "float32",
                  "layout": "NHWC, RGB", "range": "0..255 (an aligned face crop, see "
                  "tfface.data.folder.crop_face)" + ("; int8 = quantized with the input "
                                                     "scale/zero point" if int8_io else "")},
        "output": {"name": "params", "shape": [1, layout.size],
                   "dtype": "int8" if int8_io else "float32",
                   "layout": "FaceParams (tfface.params), groups in order", "groups": groups,
                   "conventions": {"rotation": "pitch, yaw, roll radians; R = Rz Ry Rx",
                                   "translation": "model units (mm)",
                                   "scale": "log scale factor",
                                   "illumination": "9 SH coefficients x RGB, r0..r8 g0..g8 b0..b8"}},
    }


def sidecar_path(model_path: str) -> str:
    return model_path + ".json"


def write_sidecar(model_path: str, description: Dict[str, Any]) -> str:
    path = sidecar_path(model_path)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(description, handle, indent=2)
    return path
