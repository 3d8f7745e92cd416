"""Which mesh vertices the 16 jaw landmarks mark: the occluding contour.

Annotators click a face's *outline*, where its surface turns away from the
camera, not fixed points on the skin; on a turned face the two sides' outlines
lie on different parts of the head (the cheek on the side turned away, the
jaw further back on the other). This finds them the way Zhu et al.'s
"landmark marching" (HPEN / 3DDFA) does: a horizontal line of candidate
vertices through each jaw landmark (:func:`contour_lines`), and on it the
first vertex, front to back, whose normal no longer faces the camera
(:func:`contour_landmarks`). :func:`outline_landmarks` is that contour on a
frontal face, carried on the head: what datasets that mark the 3D jaw even
where it is hidden (AFLW2000-3D, LS3D-W) annotate.
"""

from __future__ import annotations

import functools
from typing import Tuple

import numpy as np
import trimesh

from tfface.morphable.model import MorphableModel

LINE_HALF_HEIGHT_MM = 3.0
LINE_DEPTH_MM = 45.0
LINE_FRONT_MM = 40.0
LINE_INNER = 0.3


@functools.lru_cache(maxsize=4)
def contour_lines(model: MorphableModel) -> Tuple[np.ndarray, ...]:
    """Per iBUG jaw point 0..16, the candidate vertex ids ``[n_i]`` of its
    occluding-contour line, front to back: vertices of the mean shape within
    :data:`LINE_HALF_HEIGHT_MM` of the landmark's height, on its side of the
    face (at least :data:`LINE_INNER` of its distance from the midline), from
    :data:`LINE_FRONT_MM` in front of it (the cheek, where a face turned
    away shows its outline) to :data:`LINE_DEPTH_MM` behind it (towards the
    ear, where a face turned towards the camera shows it). The chin (8)
    keeps its own vertex."""
    mean = model.mean_shape.astype(np.float64) - model.center
    lines = []
    for point in range(17):
        anchor = int(model.landmark_indices[point])
        x, y, z = mean[anchor]
        if point == 8:
            lines.append(np.array([anchor]))
            continue
        side = np.sign(x)
        keep = ((np.abs(mean[:, 1] - y) <= LINE_HALF_HEIGHT_MM)
                & (side * mean[:, 0] >= LINE_INNER * side * x)
                & (mean[:, 2] <= z + LINE_FRONT_MM) & (mean[:, 2] >= z - LINE_DEPTH_MM))
        line = np.union1d(np.flatnonzero(keep), [anchor])
        lines.append(line[np.argsort(-mean[line, 2], kind="stable")])
    return tuple(lines)


@functools.lru_cache(maxsize=4)
def mean_normals(model: MorphableModel) -> np.ndarray:
    """Unit vertex normals ``[V, 3]`` of the mean shape."""
    return np.asarray(trimesh.Trimesh(model.mean_shape.astype(np.float64), model.triangles,
                                      process=False).vertex_normals)


def contour_landmarks(model: MorphableModel, rotation: np.ndarray) -> np.ndarray:
    """Landmark vertex ids ``[68]`` of a head turned by ``rotation``
    ``[3, 3]``: the model's own, with the jaw points (all but the chin) on the
    occluding contour: on each line of :func:`contour_lines`, front to back,
    the first vertex whose normal (the mean shape's, rotated) no longer faces
    the camera (depth component <= 0), else the one turned furthest from it.

    Raises:
      ValueError: ``rotation`` is not ``[3, 3]``.
    """
    rotation = np.asarray(rotation, np.float64)
    if rotation.shape != (3, 3):
        raise ValueError(f"rotation: shape {rotation.shape}, expected [3, 3]")
    facing = mean_normals(model) @ rotation[2]  # the rotated normals' depth components
    ids = model.landmark_indices.copy()
    for point, line in enumerate(contour_lines(model)):
        away = np.flatnonzero(facing[line] <= 0.0)
        ids[point] = line[away[0]] if len(away) else line[np.argmin(facing[line])]
    return ids


@functools.lru_cache(maxsize=4)
def outline_landmarks(model: MorphableModel) -> np.ndarray:
    """Landmark vertex ids ``[68]`` with the jaw on the mean face's *frontal*
    occluding contour (:func:`contour_landmarks` at zero rotation), where
    annotators of a frontal face click its outline. ICT-FaceKit's own jaw
    vertices sit 18-36 mm in front of it, on the cheeks (README, Reconstruct faces)."""
    return contour_landmarks(model, np.eye(3))
