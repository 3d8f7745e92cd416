"""Where MediaPipe's jaw points fall on the default model, against its jaw landmark vertices.

MediaPipe's face oval, read as iBUG points 0-16 by
:mod:`tfface.faces.mesh_map`, marks the 3D jaw line, as AFLW2000-3D's points
do. This script renders faces of the default model (random identity, yaw
within +-50 deg, smooth backgrounds), runs the face mesh on each, maps its 3D
points (with their depth) into the face's model space by the similarity
transform that best aligns its 51 inner iBUG points with the model's
(:func:`trimesh.registration.procrustes`), and reports per jaw point the
median offset from the model's jaw landmark vertex, the spread over renders,
and the mean-shape vertices nearest to the median positions made left-right
symmetric (candidate jaw vertices for MediaPipe's convention). A table, then
one JSON line.

Measured (80 renders): MediaPipe's jaw lies 2-13 mm deeper (behind) and
1-12 mm lower than ICT-FaceKit's iBUG jaw vertices; fitted to MediaPipe's
points with the model's vertices, faces turned 5-40 deg come out about 2 deg
too turned on AFLW2000-3D. See benchmarks/NOTES.md for what swapping the
vertices did there.

    python benchmarks/jaw_vertices.py [--faces 80]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Tuple

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import numpy as np  # noqa: E402
import trimesh  # noqa: E402

from tfface.data.photoreal import random_backgrounds  # noqa: E402
from tfface.faces.mediapipe import FaceMesh  # noqa: E402
from tfface.faces.mesh_map import ibug68  # noqa: E402
from tfface.layers import Renderer  # noqa: E402
from tfface.morphable import load_model  # noqa: E402
from tfface.params import FaceParams  # noqa: E402

JAW = slice(0, 17)
INNER = slice(17, 68)
SIZE = 256


def neutral_faces(count: int, seed: int, max_yaw: float = 0.9) -> Tuple[np.ndarray, np.ndarray]:
    """``count`` renders of the default model with a neutral expression:
    uint8 RGB ``[N, SIZE, SIZE, 3]`` over smooth backgrounds, and their
    params ``[N, P]`` (random identity, yaw within ``max_yaw`` rad, pitch
    0.15, roll 0.1, soft frontal light). Not render_synthetic's random faces:
    their expressions (jawOpen among them) move the jaw and widen the spread
    here (8-9 mm vs 5-7)."""
    renderer = Renderer.from_model(load_model("ict"), (SIZE, SIZE))
    layout = renderer.layout
    rng = np.random.default_rng(seed)
    params = layout.zeros(count)
    params[:, layout.slices["identity"]] = rng.normal(size=(count, layout.identity)) * 0.7
    params[:, layout.slices["rotation"]] = rng.uniform(-1, 1, (count, 3)) * [0.15, max_yaw, 0.1]
    params[:, layout.slices["illumination"].start + 2] = 0.2
    rendered = renderer(params)
    mask = np.clip(rendered["mask"].numpy(), 0, 1)
    backgrounds = random_backgrounds(count, (SIZE, SIZE), rng)
    images = np.clip(rendered["image"].numpy() * mask + backgrounds * (1 - mask), 0, 1)
    return (255 * images).astype(np.uint8), params


def jaw_positions(faces: int, seed: int = 11) -> Tuple[np.ndarray, np.ndarray]:
    """Per render of :func:`neutral_faces` where the mesh sees a face:
    MediaPipe's 17 jaw points in the mean shape's coordinates ``[N, 17, 3]``
    (each render's model-space position moved by the mean shape's offset at
    its nearest vertex), and the inner-point alignment residuals ``[N]`` (mm)."""
    model = load_model("ict")
    layout = FaceParams.from_model(model)
    images, params = neutral_faces(faces, seed)
    mesh = FaceMesh()
    mean = model.mean_shape.astype(np.float64)
    whole = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    positions, residuals = [], []
    for image, face_params in zip(images, params):
        points, presence = mesh(image, whole)
        if presence < 0.5:
            continue
        groups = layout.split_numpy(face_params)
        shape = model.shape(groups["identity"], groups["expression"]).astype(np.float64)
        ibug = ibug68(points, columns=3) * [1.0, -1.0, -1.0]  # image axes -> model axes
        matrix, _, cost = trimesh.registration.procrustes(
            ibug[INNER], shape[model.landmark_indices[INNER]], reflection=False, scale=True)
        jaw = trimesh.transform_points(ibug[JAW], matrix)
        nearest = np.argmin(np.linalg.norm(shape[None] - jaw[:, None], axis=-1), axis=1)
        positions.append(jaw + mean[nearest] - shape[nearest])
        residuals.append(np.sqrt(cost))
    return np.array(positions), np.array(residuals)


def symmetric_vertices(positions: np.ndarray, mean: np.ndarray) -> Tuple[int, ...]:
    """The mean-shape vertices ``[17]`` nearest to the median positions,
    symmetric: point ``k`` and ``16 - k`` averaged with x mirrored."""
    median = np.median(positions, axis=0)
    mirrored = median[::-1] * [-1.0, 1.0, 1.0]
    symmetric = (median + mirrored) / 2
    return tuple(int(np.argmin(np.linalg.norm(mean - p, axis=1))) for p in symmetric)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=80)
    args = parser.parse_args(argv)
    model = load_model("ict")
    positions, residuals = jaw_positions(args.faces)
    mean = model.mean_shape.astype(np.float64)
    vertices = symmetric_vertices(positions, mean)
    median = np.median(positions, axis=0)
    shift = median - mean[model.landmark_indices[JAW]]
    spread = np.median(np.linalg.norm(positions - median, axis=-1), axis=0)
    print(f"{len(positions)} of {args.faces} renders; inner-point alignment residual "
          f"{np.median(residuals):.2f} mm (median)")
    print("median offset from the model's jaw vertex (mm), spread over renders (mm), and the "
          "nearest symmetric vertex")
    print(f"{'point':>5s} {'x':>6s} {'y':>6s} {'z':>6s} {'spread':>7s} {'vertex':>7s}")
    for k in range(17):
        offset = " ".join(f"{v:6.1f}" for v in shift[k])
        print(f"{k:5d} {offset} {spread[k]:7.1f} {vertices[k]:7d}")
    print(json.dumps({"benchmark": "jaw_vertices", "renders": len(positions),
                      "median_offset_mm": np.round(shift, 2).tolist(),
                      "spread_mm": np.round(spread, 2).tolist(), "vertices": list(vertices)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
