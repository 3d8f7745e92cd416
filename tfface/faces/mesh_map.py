"""The 68 iBUG landmarks from MediaPipe's 478-point face mesh.

Each iBUG point is the mean of one to three mesh vertices
(:data:`IBUG_FROM_MESH`). The map is derived, not hand-picked, by
:func:`derive_map` on photo-like synthetic renders of the default
ICT-FaceKit model, whose 68 landmark vertices are known exactly: for each
iBUG point, of the mesh vertices nearest to it on average, the single vertex,
pair or triple whose mean is closest to the true point over all renders
(error in outer-eye-corner distances); iris points are not candidates. Rebuild with
``python benchmarks/mesh_map.py [COUNT]``; the derivation prints its
residuals, and ``benchmarks/landmarks.py`` measures the map on real photos.

The jaw points follow the mesh's own jaw vertices: the 3D jaw line, as
AFLW2000-3D marks it, not the visible outline of a turned face.
"""

from __future__ import annotations

import itertools
from typing import List, Sequence, Tuple

import numpy as np

MESH_VERTICES = 468
"""Mesh vertices proper; 468..477 are the irises, which follow the gaze and
are not used."""

IBUG_FROM_MESH: Tuple[Tuple[int, ...], ...] = (
    (162, 127), (137, 127), (137, 93, 177), (177, 132, 138), (138, 172), (150, 136, 170),
    (176, 150), (176, 140, 152), (148, 377), (400, 369, 152), (400, 379), (379, 365, 395),
    (367, 397, 364), (433, 401, 288), (401, 361, 447), (366, 356), (389, 356), (63, 71),
    (104, 63), (69, 105), (108, 66), (107, 108), (336, 337), (337, 296), (299, 334),
    (334, 293, 332), (293, 301), (8, 193, 417), (196, 419, 168), (195, 248, 51), (5, 1),
    (240, 98, 97), (97, 20, 167), (2, 164), (290, 393, 2), (327, 326), (33, 247, 163),
    (160, 7, 27), (159, 28, 157), (173, 133), (154, 158, 23), (163, 144), (362, 398),
    (385, 286, 386), (387, 257, 249), (466, 390, 467), (373, 390), (380, 252, 385), (61,),
    (40, 39), (37, 167, 41), (0, 12, 164), (267, 268, 393), (269, 270), (306,),
    (321, 320, 405), (314, 405), (17,), (181, 84), (181, 146), (78,), (80, 82), (82, 312),
    (311, 312), (292, 324), (402, 403, 317), (14, 86, 317), (178,),
)
"""Per iBUG point 0..67, the mesh vertex ids whose mean it is (see module doc)."""


def ibug68(mesh_points: np.ndarray, mapping: Sequence[Sequence[int]] = None) -> np.ndarray:
    """``[478, 2+]`` mesh points -> ``[68, 2]`` iBUG points."""
    mapping = IBUG_FROM_MESH if mapping is None else mapping
    return np.stack([mesh_points[list(ids), :2].mean(0) for ids in mapping])


def derive_map(meshes: np.ndarray, truths: np.ndarray, candidates: int = 8,
               max_vertices: int = 3) -> Tuple[List[Tuple[int, ...]], np.ndarray]:
    """The best map of :data:`IBUG_FROM_MESH`'s form from ``meshes``
    ``[N, 478, 2]`` and true iBUG points ``[N, 68, 2]``; also returns the
    mean residual per point ``[68]`` in outer-eye-corner distances."""
    eyes = np.linalg.norm(truths[:, 36] - truths[:, 45], axis=1)[:, None]
    mapping, residuals = [], []
    for point in range(truths.shape[1]):
        target = truths[:, point][:, None]
        distance = (np.linalg.norm(meshes[:, :MESH_VERTICES, :2] - target, axis=2)
                    / eyes).mean(0)
        near = np.argsort(distance)[:candidates]
        best, best_error = None, np.inf
        for k in range(1, max_vertices + 1):
            for ids in itertools.combinations(near, k):
                error = (np.linalg.norm(meshes[:, list(ids), :2].mean(1) - truths[:, point],
                                        axis=1) / eyes[:, 0]).mean()
                if error < best_error - 1e-4:
                    best, best_error = tuple(int(i) for i in ids), error
        mapping.append(best)
        residuals.append(best_error)
    return mapping, np.array(residuals)
