"""Benchmark conventions: AFLW2000-3D head pose and the 3DDFA landmark NME.

AFLW2000-3D (``../shared/eval/README.md``): ``R = Rx(pitch) Ry(yaw) Rz(roll)``
with the *transposed* elementary matrices, mapping the model (x right, y up,
z towards the viewer) into the camera, as tfface's ``R`` does. So the
dataset's angles of a tfface face are read off tfface's rotation matrix
with the dataset's own formulas (:func:`aflw_angles`): yaw > 0 = face
turned towards the image left, pitch > 0 = looking up, roll > 0 = clockwise
on screen. (tfface's own Euler angles differ in sign and order.)
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

import numpy as np

YAW_BINS = ("[0,30]", "(30,60]", "(60,90]")


def aflw_matrix(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """The dataset's ``R`` ``[3, 3]`` for angles in radians (its ``RotationMatrix.m``)."""
    cx, sx, cy, sy, cz, sz = (np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw),
                              np.cos(roll), np.sin(roll))
    rx = np.array([[1, 0, 0], [0, cx, sx], [0, -sx, cx]])
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    rz = np.array([[cz, sz, 0], [-sz, cz, 0], [0, 0, 1]])
    return rx @ ry @ rz


def aflw_angles(matrix: np.ndarray) -> Dict[str, float]:
    """``{"pitch", "yaw", "roll"}`` in degrees of a rotation ``[3, 3]`` (model
    to camera, x right, y up, z to the viewer), in AFLW2000-3D's convention
    (yaw in [-90, 90], the dataset's canonical formulas)."""
    r = np.asarray(matrix, np.float64)
    return {"pitch": float(np.degrees(np.arctan2(r[1, 2], r[2, 2]))),
            "yaw": float(np.degrees(np.arcsin(np.clip(-r[0, 2], -1, 1)))),
            "roll": float(np.degrees(np.arctan2(r[0, 1], r[0, 0])))}


def aflw_pose(pose: Dict[str, float]) -> Dict[str, float]:
    """A tfface head pose (degrees: :attr:`FaceReconstruction.pose`, or
    ``pose_degrees`` in a face's ``.json``) in AFLW2000-3D's convention."""
    from tfface.pinhole import euler_matrix
    return aflw_angles(euler_matrix(np.radians([pose["pitch"], pose["yaw"], pose["roll"]])))


def nme_3ddfa(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean point-to-point error ``[68, 2]`` over sqrt(w h) of the truth's box."""
    extent = truth.max(0) - truth.min(0)
    return float(np.linalg.norm(predicted - truth, axis=1).mean() / np.sqrt(extent.prod()))


def landmark_box(roi_box: np.ndarray) -> np.ndarray:
    """The landmarks' square box inside 3DDFA's crop box: 3DDFA makes the crop
    box the landmarks' square box scaled by sqrt(2) about its centre
    (``parse_roi_box_from_landmark``); dlib's predictor wants the tighter one."""
    centre, half = (roi_box[:2] + roi_box[2:]) / 2, (roi_box[2:] - roi_box[:2]) / (2 * np.sqrt(2))
    return np.concatenate([centre - half, centre + half])


def yaw_bin_means(values: np.ndarray, bins: np.ndarray) -> Dict[str, float]:
    """Mean of ``values`` per 3DDFA yaw bin, and the mean of the three."""
    out = {name: float(np.mean(values[bins == b])) if np.any(bins == b) else float("nan")
           for b, name in enumerate(YAW_BINS)}
    out["mean"] = float(np.nanmean(list(out.values())))
    return out


def aflw2000(folder: str, subset: Optional[str] = None,
             limit: Optional[int] = None) -> List[Dict]:
    """Images of AFLW2000-3D with what a benchmark needs, 0-based pixels:
    ``stem``, ``path``, ``pts`` (original 68, ``[68, 2]``), ``reannotated``
    ``[68, 2]``, ``box`` (3DDFA's crop box ``[4]``), ``pose`` (raw degrees),
    ``pose_valid`` (not among the 31 images with an angle beyond 99 deg),
    ``yaw_bin`` (0/1/2). ``subset``: a file of image names, as a path
    (absolute or from the working directory) or a name inside ``folder``
    (e.g. ``subset_150.txt``)."""
    with open(os.path.join(folder, "gt.json"), encoding="utf-8") as handle:
        images = json.load(handle)["images"]
    stems = sorted(images)
    if subset is not None:
        path = subset if os.path.isfile(subset) else os.path.join(folder, subset)
        with open(path, encoding="utf-8") as handle:
            stems = [os.path.splitext(line.strip())[0] for line in handle if line.strip()]
    items = []
    for stem in stems[:limit]:
        gt = images[stem]
        items.append({
            "stem": stem, "path": os.path.join(folder, gt["image"]),
            "pts": np.array(gt["pts68_3d"], np.float64)[:, :2] - 1.0,  # 1-based -> 0-based
            "reannotated": np.array(gt["pts68_reannotated_2d"], np.float64),  # 0-based
            "box": np.array(gt["roi_box_3ddfa"], np.float64), "pose": gt["pose_raw_deg"],
            "pose_valid": not gt["excluded_by_abs_raw_angle_gt_99"],
            "yaw_bin": int(gt["yaw_bin_3ddfa"])})
    return items
