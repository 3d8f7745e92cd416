"""Derive the MediaPipe face mesh -> 68 iBUG map from the annotated photos.

Derives the mesh's mirror permutation
(:func:`tfface.faces.mesh_map.mirror_permutation`) from the faces of the
photos of ``../shared/faces`` (not benchmark data). Then runs the MediaPipe
landmarker on the human-annotated photos and on their mirror images, and
:func:`tfface.faces.mesh_map.derive_map` (anchors where the annotations fall
on the mesh's contours, the other points equally spaced between them on the
frontal face's mesh). Prints the residual per photo and the map; paste it
into ``tfface/faces/mesh_map.py``. ``benchmarks/landmarks.py`` measures the
map on AFLW2000-3D.

    python benchmarks/mesh_map.py
"""

from __future__ import annotations

import os

from tfface.quiet import quiet_script

quiet_script()  # before TensorFlow loads: its start-up logs off the console

import numpy as np  # noqa: E402

from tfface.data.folder import read_pts  # noqa: E402
from tfface.faces import read_image  # noqa: E402
from tfface.faces.landmarks import MediaPipeLandmarker  # noqa: E402
from tfface.faces.mediapipe import mesh_crop, mirrored_crop  # noqa: E402
from tfface.faces.mesh_map import (IBUG_MIRROR, MESH_MIRROR, derive_map, ibug68,  # noqa: E402
                                   mirror_permutation)

FACES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "faces")
PHOTOS = ("takeo.ppm", "breakingbad.jpg")
"""The annotated photos; the first is frontal and gives the arc lengths."""


def annotated_meshes(folder: str = FACES):
    """``[(name, mesh [478, 3], human points [68, 2])]`` of each photo and its mirror."""
    landmarker = MediaPipeLandmarker()
    samples = []
    for name in PHOTOS:
        photo = read_image(os.path.join(folder, name))
        truth = read_pts(os.path.join(folder, os.path.splitext(name)[0] + ".pts"))
        mirrored = truth.copy()
        mirrored[:, 0] = photo.shape[1] - 1 - mirrored[:, 0]
        for label, image, points in ((name, photo, truth),
                                     (name + " (mirrored)", photo[:, ::-1].copy(),
                                      mirrored[IBUG_MIRROR])):
            face = min(landmarker(image), key=lambda f: np.abs(f.landmarks - points).mean())
            samples.append((label, face.mesh, points))
    return samples


def mirror_pairs(folder: str = FACES):
    """Per face found in the photos: its mesh, and its mesh predicted on the mirrored crop."""
    landmarker = MediaPipeLandmarker()
    pairs = []
    for name in PHOTOS:
        photo = read_image(os.path.join(folder, name))
        for face in landmarker(photo):
            if face.problem is None:
                crop = mesh_crop(face.mesh)
                pairs.append((landmarker.mesh(photo, crop)[0],
                              landmarker.mesh(photo, mirrored_crop(crop))[0]))
    return pairs


def main() -> None:
    mirror = mirror_permutation(mirror_pairs())
    print(f"MESH_MIRROR: {np.sum(mirror != MESH_MIRROR)} entries differ from the shipped one; "
          f"{np.sum(mirror == np.arange(len(mirror)))} midline vertices")
    samples = annotated_meshes()
    mapping = derive_map([(mesh, points) for _, mesh, points in samples], samples[0][1])
    for label, mesh, points in samples:
        eyes = np.linalg.norm(points[36] - points[45])
        error = np.linalg.norm(ibug68(mesh, mapping) - points, axis=1).mean() / eyes
        print(f"{label}: mean error {error:.3f} outer-eye-corner distances")
    print("IBUG_FROM_MESH = (" + ", ".join(str(entry) for entry in mapping) + ")")


if __name__ == "__main__":
    main()
