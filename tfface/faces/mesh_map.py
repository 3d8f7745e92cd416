"""The 68 iBUG landmarks from MediaPipe's 478-point face mesh.

iBUG's annotation scheme puts its points on facial contours: corners and a
few extremal points (anchors), the others equally spaced between them along
the contour. Here each contour is a chain of mesh vertices
(:data:`CONTOUR_SEGMENTS`, from MediaPipe's own semantic contours in
``face_mesh_connections``: face oval, upper eyebrow edges, eyelids, outer
and inner lips; the nose bridge and nostril base from its nose contour), and
each iBUG point is a fixed point on its chain between two adjacent vertices:
``IBUG_FROM_MESH[k] = (a, b, t)``, point ``k = (1 - t) p[a] + t p[b]``.

Where on the chain (:func:`derive_map`): each anchor where human 68-point
annotations project onto the chain, averaged over the annotated photos of
``../shared/faces`` (not benchmark data) and their mirror images; the other
points equally spaced by 3D arc length between anchors on the mesh of the
frontal face among them. Rebuild with ``python benchmarks/mesh_map.py``;
``benchmarks/landmarks.py`` measures the map on real photos.

The jaw points lie on the mesh's face oval: its 3D jaw line, as AFLW2000-3D
marks it, not the visible outline of a turned face.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

MESH_VERTICES = 468
"""Mesh vertices proper; 468..477 are the irises, which follow the gaze and
are not used."""

CONTOUR_SEGMENTS: Tuple[Tuple[Tuple[int, ...], Tuple[int, ...], Tuple[int, ...]], ...] = (
    # (vertex chain in iBUG order, the iBUG points along it, which of them are anchors)
    ((162, 127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365,
      397, 288, 361, 323, 454, 356, 389), tuple(range(0, 17)), (0, 8, 16)),      # jaw
    ((70, 63, 105, 66, 107), tuple(range(17, 22)), (17, 21)),                     # brows
    ((336, 296, 334, 293, 300), tuple(range(22, 27)), (22, 26)),
    ((168, 6, 197, 195, 5, 4, 1), (27, 28, 29, 30), (27, 30)),                    # nose
    ((48, 64, 98, 97, 2, 326, 327, 294, 278), (31, 32, 33, 34, 35), (31, 33, 35)),
    ((33, 246, 161, 160, 159, 158, 157, 173, 133), (36, 37, 38, 39), (36, 39)),   # eyes
    ((133, 155, 154, 153, 145, 144, 163, 7, 33), (39, 40, 41, 36), (39, 36)),
    ((362, 398, 384, 385, 386, 387, 388, 466, 263), (42, 43, 44, 45), (42, 45)),
    ((263, 249, 390, 373, 374, 380, 381, 382, 362), (45, 46, 47, 42), (45, 42)),
    ((61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291), tuple(range(48, 55)),     # lips
     (48, 50, 51, 52, 54)),
    ((291, 375, 321, 405, 314, 17, 84, 181, 91, 146, 61), (54, 55, 56, 57, 58, 59, 48),
     (54, 57, 48)),
    ((78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308), (60, 61, 62, 63, 64), (60, 62, 64)),
    ((308, 324, 318, 402, 317, 14, 87, 178, 88, 95, 78), (64, 65, 66, 67, 60), (64, 66, 60)),
)
"""Contours of the mesh and the iBUG points on each; a point on two chains
(a corner) takes its place from the first."""

IBUG_MIRROR = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30, 35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65])
"""iBUG point of the mirror image: ``mirrored[k] = points[IBUG_MIRROR[k]]``."""

IBUG_FROM_MESH: Tuple[Tuple[int, int, float], ...] = (
    (162, 127, 0.985), (234, 93, 0.343), (93, 132, 0.671), (132, 58, 0.863), (172, 136, 0.055),
    (136, 150, 0.319), (150, 149, 0.764), (176, 148, 0.42), (152, 377, 0.072),
    (377, 400, 0.736), (378, 379, 0.391), (379, 365, 0.819), (397, 288, 0.056),
    (288, 361, 0.206), (361, 323, 0.385), (323, 454, 0.69), (356, 389, 0.004), (70, 63, 0.366),
    (63, 105, 0.357), (105, 66, 0.288), (66, 107, 0.124), (66, 107, 0.916), (336, 296, 0.078),
    (336, 296, 0.897), (296, 334, 0.751), (334, 293, 0.701), (293, 300, 0.692),
    (168, 6, 0.126), (6, 197, 0.781), (195, 5, 0.46), (4, 1, 0.102), (64, 98, 0.452),
    (98, 97, 0.709), (2, 326, 0.041), (326, 327, 0.315), (327, 294, 0.552), (33, 246, 0.313),
    (160, 159, 0.174), (158, 157, 0.252), (173, 133, 0.282), (154, 153, 0.995),
    (145, 144, 0.721), (362, 398, 0.591), (384, 385, 0.901), (386, 387, 0.935),
    (466, 263, 0.629), (373, 374, 0.12), (374, 380, 0.837), (61, 185, 0.0), (40, 39, 0.202),
    (37, 0, 0.095), (0, 267, 0.016), (267, 269, 0.179), (269, 270, 0.99), (409, 291, 0.998),
    (321, 405, 0.154), (405, 314, 0.592), (314, 17, 0.984), (84, 181, 0.284), (181, 91, 0.67),
    (78, 191, 0.584), (81, 82, 0.064), (13, 312, 0.05), (311, 310, 0.151), (415, 308, 0.603),
    (318, 402, 0.932), (317, 14, 0.988), (178, 88, 0.026),
)
"""Per iBUG point 0..67, ``(a, b, t)``: the point ``(1 - t) p[a] + t p[b]``
(see the module doc; written by ``benchmarks/mesh_map.py``)."""


def ibug68(mesh_points: np.ndarray,
           mapping: Sequence[Tuple[int, int, float]] = IBUG_FROM_MESH) -> np.ndarray:
    """``[478, 2+]`` mesh points -> ``[68, 2]`` iBUG points."""
    a, b, t = (np.array(column) for column in zip(*mapping))
    xy = np.asarray(mesh_points)[:, :2]
    return (1 - t)[:, None] * xy[a.astype(int)] + t[:, None] * xy[b.astype(int)]


def _arc_length(points: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])


def _closest_position(polyline: np.ndarray, point: np.ndarray) -> float:
    """Where on ``polyline`` ``[N, 2]`` ``point`` is closest: segment index + fraction."""
    start, end = polyline[:-1], polyline[1:]
    direction = end - start
    t = np.clip(np.einsum("ij,ij->i", point - start, direction)
                / np.maximum(np.einsum("ij,ij->i", direction, direction), 1e-12), 0.0, 1.0)
    distance = np.linalg.norm(start + t[:, None] * direction - point, axis=1)
    best = int(np.argmin(distance))
    return best + float(t[best])


def derive_map(samples: Sequence[Tuple[np.ndarray, np.ndarray]], canonical: np.ndarray
               ) -> Tuple[Tuple[int, int, float], ...]:
    """The map of :data:`IBUG_FROM_MESH`'s form from ``samples`` (mesh
    ``[478, 2+]``, human iBUG points ``[68, 2]`` of the same face) and the
    ``canonical`` ``[478, 3]`` mesh of a frontal face (arc lengths): anchors
    where the annotations project onto their chains (mean over samples),
    other points equally spaced between anchors (see the module doc)."""
    mapping = {}
    for chain, points, anchors in CONTOUR_SEGMENTS:
        chain = list(chain)
        length = _arc_length(canonical[chain])

        def to_length(position: float) -> float:
            i = min(int(position), len(chain) - 2)
            return length[i] + (position - i) * (length[i + 1] - length[i])

        placed = {k: float(np.mean([to_length(_closest_position(mesh[chain, :2], truth[k]))
                                    for mesh, truth in samples])) for k in anchors}
        order = sorted((points.index(k), k) for k in anchors)
        for (i0, k0), (i1, k1) in zip(order[:-1], order[1:]):
            for j in range(i0, i1 + 1):
                if points[j] in mapping:
                    continue
                s = placed[k0] + (placed[k1] - placed[k0]) * (j - i0) / (i1 - i0)
                i = int(np.clip(np.searchsorted(length, s, side="right") - 1, 0, len(chain) - 2))
                t = float(np.clip((s - length[i]) / max(length[i + 1] - length[i], 1e-12), 0, 1))
                mapping[points[j]] = (chain[i], chain[i + 1], round(t, 3))
    return tuple(mapping[k] for k in range(68))
