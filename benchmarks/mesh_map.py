"""Derive the MediaPipe face mesh -> 68 iBUG map on synthetic ICT renders.

Renders photo-like faces of the default model (whose 68 landmark vertices
are known exactly), runs BlazeFace + the face mesh on each, and prints the
derived map (:func:`tfface.faces.mesh_map.derive_map`) with its residuals in
outer-eye-corner distances; paste it into ``tfface/faces/mesh_map.py``.
``benchmarks/landmarks.py`` measures the map on real photos.

    python benchmarks/mesh_map.py [COUNT]
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from tfface.data.synthetic import render_synthetic  # noqa: E402
from tfface.faces.mediapipe import BlazeFaceDetector, FaceMesh, eye_aligned_crop  # noqa: E402
from tfface.faces.mesh_map import derive_map  # noqa: E402
from tfface.layers import Renderer  # noqa: E402
from tfface.morphable import default_model  # noqa: E402


def synthetic_meshes(count: int, seed: int = 7, photo_like: bool = False):
    """Mesh points and true iBUG points of ``count`` photo-like ICT renders."""
    renderer = Renderer.from_model(default_model(), (256, 256))
    data = render_synthetic(renderer, count, seed=seed, photo_like=photo_like)
    detector, mesh = BlazeFaceDetector(), FaceMesh()
    meshes, truths = [], []
    for image, truth in zip(data["image"].astype(np.uint8), data["landmarks"]):
        found = detector(image)
        if not found:
            continue
        best = max(found, key=lambda d: d.score)
        points, score = mesh(image, eye_aligned_crop(best.box, *best.keypoints[:2]))
        if score > 0.5:
            meshes.append(points)
            truths.append(truth)
    return np.array(meshes), np.array(truths)


def main() -> None:
    found_meshes, found_truths = synthetic_meshes(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
    derived, error = derive_map(found_meshes, found_truths)
    print(f"{len(found_meshes)} renders with a face; residual {error.mean():.4f} "
          f"(jaw {error[:17].mean():.4f}, inner {error[17:].mean():.4f}) eye distances")
    print("IBUG_FROM_MESH = (" + ", ".join(str(ids) for ids in derived) + ")")


if __name__ == "__main__":
    main()
