"""Parity of an exported encoder against the Keras encoder it came from."""

from __future__ import annotations

from typing import Dict

import numpy as np

from tfface.morphable import MorphableModel
from tfface.params import FaceParams

# Max allowed decoded-mesh error per format, as % of the mean face width.
MESH_TOLERANCE_PCT = {"tflite-fp32": 0.01, "tflite-fp16": 0.5, "tflite-dynamic": 2.0,
                      "tflite-int8": 5.0, "onnx": 0.01, "savedmodel": 0.01}


def mesh_error_pct(model: MorphableModel, layout: FaceParams, reference: np.ndarray,
                   exported: np.ndarray) -> float:
    """Max over samples of the mean vertex distance between decoded shapes, % of width."""
    ref, got = layout.split_numpy(reference), layout.split_numpy(exported)
    errors = [np.linalg.norm(model.shape(ri, re) - model.shape(gi, ge), axis=1).mean()
              for ri, re, gi, ge in zip(ref["identity"], ref["expression"],
                                        got["identity"], got["expression"])]
    return float(100 * max(errors) / model.width)


def parity_report(layout: FaceParams, model: MorphableModel, reference: np.ndarray,
                  exported: np.ndarray) -> Dict[str, float]:
    """Max absolute error per parameter group and the decoded mesh error."""
    ref, got = layout.split_numpy(reference), layout.split_numpy(exported)
    report = {f"max_abs/{g}": float(np.abs(ref[g] - got[g]).max()) if ref[g].size else 0.0
              for g in ref}
    report["mesh_error_pct_width"] = mesh_error_pct(model, layout, reference, exported)
    return report


def format_table(fmt: str, report: Dict[str, float], tolerance: float) -> str:
    lines = [f"parity of {fmt} vs Keras encoder:"]
    lines += [f"  {name:<28} {value:.3e}" for name, value in report.items()]
    status = "ok" if report["mesh_error_pct_width"] <= tolerance else "FAIL"
    lines.append(f"  {'tolerance (mesh, % width)':<28} {tolerance:.3e}  -> {status}")
    return "\n".join(lines)
