"""The default morphable model: ICT-FaceKit (MIT), shipped in ``tfface/assets``.

``tfface/assets/ict_face.npz`` is built by :func:`build_default_model` from
the ICT-FaceKit face-region model (``ict_face.npz``, converted from the
public ``FaceXModel`` folder by ``tfface convert-model ict``):

* identity (100 modes) and the 53 ARKit expression blendshapes, stored as
  float16 (decoded meshes within :data:`FLOAT16_TOLERANCE_MM` of float32;
  the build prints the measured error), and ``uv`` / ``uv_triangles``;
* the albedo of :mod:`tfface.morphable.albedo` (ICT has none);
* landmark vertices re-picked where ICT's iBUG ids sit off the annotation
  convention (:func:`ibug_landmarks`).

Licence: ``tfface/assets/licenses/ICT-FaceKit-LICENSE`` (MIT, USC ICT).
Rebuild: ``python -m tfface.morphable.default ICT_FACE.npz``.
"""

from __future__ import annotations

import functools
import os
import sys

import numpy as np

from tfface import ASSETS
from tfface.morphable.albedo import skin_albedo
from tfface.morphable.model import MorphableModel

DEFAULT_MODEL_PATH = os.path.join(ASSETS, "ict_face.npz")
FLOAT16_TOLERANCE_MM = 0.05
INNER_BROWS = (21, 22)
INNER_EYE_CORNERS = (39, 42)
NOSE_RIDGE = (27, 28, 29, 30)


@functools.lru_cache(maxsize=1)
def default_model() -> MorphableModel:
    """The shipped ICT-FaceKit model (9409 vertices, 100 identity, 53 ARKit
    expressions, 9 albedo modes)."""
    return MorphableModel.load(DEFAULT_MODEL_PATH)


def _nearest_vertex(vertices: np.ndarray, point: np.ndarray, axes=(0, 1)) -> int:
    """Front-most vertex among those nearest to ``point`` in the ``axes`` plane."""
    distance = np.linalg.norm(vertices[:, list(axes)] - point[list(axes)], axis=1)
    near = np.flatnonzero(distance < distance.min() + 1.0)
    return int(near[np.argmax(vertices[near, 2])])


def ibug_landmarks(mean_shape: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """iBUG-convention landmark vertex ids ``[68]`` from a model's own ``[68]``.

    Two geometric rules, as annotators click them:
    * the inner brow ends (21, 22) lie straight above the inner eye corners
      (39, 42): same x, their own height;
    * the nose-ridge points 27-30 are evenly spaced in height between the
      bridge (27) and the tip (30), on the ridge (x = 0).
    Other points are kept.
    """
    indices = np.array(indices, np.int64)
    vertices = np.asarray(mean_shape, np.float64)
    for brow, eye in zip(INNER_BROWS, INNER_EYE_CORNERS):
        target = vertices[indices[brow]].copy()
        target[0] = vertices[indices[eye], 0]
        indices[brow] = _nearest_vertex(vertices, target)
    top, tip = vertices[indices[NOSE_RIDGE[0]]], vertices[indices[NOSE_RIDGE[-1]]]
    for k, point in enumerate(NOSE_RIDGE[1:-1], start=1):
        target = top + (tip - top) * k / (len(NOSE_RIDGE) - 1)
        indices[point] = _nearest_vertex(vertices, np.array([0.0, target[1], 0.0]))
    return indices


def build_default_model(ict_npz: str, out: str = DEFAULT_MODEL_PATH) -> float:
    """Write the default model from ICT-FaceKit's ``ict_face.npz``; returns
    the largest decoded-vertex error of float16 storage (mm) on random faces."""
    source = MorphableModel.load(ict_npz)
    mean_albedo, albedo_basis = skin_albedo(source.triangles, source.num_vertices)
    model = MorphableModel(
        mean_shape=source.mean_shape, id_basis=source.id_basis.astype(np.float16),
        exp_basis=source.exp_basis.astype(np.float16), triangles=source.triangles,
        landmark_indices=ibug_landmarks(source.mean_shape, source.landmark_indices),
        mean_albedo=mean_albedo, albedo_basis=albedo_basis.astype(np.float16),
        expression_names=source.expression_names, uv=source.uv,
        uv_triangles=source.uv_triangles, units="mm", name="ict-facekit")
    rng = np.random.default_rng(0)
    identity = rng.normal(size=(16, model.num_identity)) * 2
    expression = rng.uniform(0, 1, (16, model.num_expression))
    error = max(np.abs(model.shape(a, b) - source.shape(a, b)).max()
                for a, b in zip(identity, expression))
    if error > FLOAT16_TOLERANCE_MM:
        raise ValueError(f"float16 storage error {error:.3f} mm > {FLOAT16_TOLERANCE_MM}")
    model.save(out, float16=True)
    return float(error)


if __name__ == "__main__":
    print(f"wrote {DEFAULT_MODEL_PATH}; float16 vertex error {build_default_model(sys.argv[1]):.4f} mm "
          "(max over 16 random faces at 2 s.d.)")
