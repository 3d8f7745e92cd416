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

MESH_MIRROR = np.array([
    0, 1, 2, 248, 4, 5, 6, 249, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 250, 251, 252,
    253, 254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270,
    271, 272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287, 288,
    289, 290, 291, 292, 293, 294, 295, 296, 297, 298, 299, 300, 301, 302, 303, 304, 305, 306,
    307, 308, 309, 310, 311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 322, 323, 94,
    324, 325, 326, 327, 328, 329, 330, 331, 332, 333, 334, 335, 336, 337, 338, 339, 340, 341,
    342, 343, 344, 345, 346, 347, 348, 349, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359,
    360, 361, 362, 363, 364, 365, 366, 367, 368, 369, 370, 371, 372, 373, 374, 375, 376, 377,
    378, 379, 151, 152, 380, 381, 382, 383, 384, 385, 386, 387, 388, 389, 390, 164, 391, 392,
    393, 168, 394, 395, 396, 397, 398, 399, 175, 400, 401, 402, 403, 404, 405, 406, 407, 408,
    409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 195, 419, 197, 420, 199, 200, 421, 422,
    423, 424, 425, 426, 427, 428, 429, 430, 431, 432, 433, 434, 435, 436, 437, 438, 439, 440,
    441, 442, 443, 444, 445, 446, 447, 448, 449, 450, 451, 452, 453, 454, 455, 456, 457, 458,
    459, 460, 461, 462, 463, 464, 465, 466, 467, 3, 7, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
    30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52,
    53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75,
    76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 95, 96, 97, 98, 99,
    100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117,
    118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135,
    136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 153, 154, 155,
    156, 157, 158, 159, 160, 161, 162, 163, 165, 166, 167, 169, 170, 171, 172, 173, 174, 176,
    177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194,
    196, 198, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216,
    217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234,
    235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 473, 476, 475, 474, 477,
    468, 471, 470, 469, 472
])
"""Mesh vertex of the mirror image: a face's mirror image has vertex ``i``
where the face has vertex ``MESH_MIRROR[i]`` (an involution; 28 midline
vertices map to themselves). Derived by :func:`mirror_permutation` on the
photos of ``../shared/faces`` (``benchmarks/mesh_map.py``)."""

IBUG_MIRROR = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30, 35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65])
"""iBUG point of the mirror image: ``mirrored[k] = points[IBUG_MIRROR[k]]``."""

IBUG_FROM_MESH: Tuple[Tuple[int, int, float], ...] = (
    (127, 234, 0.011), (234, 93, 0.353), (93, 132, 0.668), (132, 58, 0.852), (172, 136, 0.029),
    (136, 150, 0.287), (150, 149, 0.713), (176, 148, 0.353), (148, 152, 0.986), (377, 400, 0.648),
    (378, 379, 0.321), (379, 365, 0.774), (397, 288, 0.022), (288, 361, 0.183), (361, 323, 0.364),
    (323, 454, 0.679), (356, 389, 0.004), (70, 63, 0.232), (63, 105, 0.266), (105, 66, 0.24),
    (66, 107, 0.108), (66, 107, 0.923), (336, 296, 0.076), (336, 296, 0.903), (296, 334, 0.77),
    (334, 293, 0.738), (293, 300, 0.742), (168, 6, 0.149), (6, 197, 0.818), (195, 5, 0.521),
    (4, 1, 0.211), (64, 98, 0.498), (98, 97, 0.716), (97, 2, 1.0), (326, 327, 0.28),
    (327, 294, 0.524), (33, 246, 0.313), (160, 159, 0.187), (158, 157, 0.281), (173, 133, 0.383),
    (154, 153, 0.96), (145, 144, 0.681), (362, 398, 0.622), (384, 385, 0.901), (386, 387, 0.959),
    (466, 263, 0.687), (373, 374, 0.183), (374, 380, 0.878), (61, 185, 0.0), (40, 39, 0.09),
    (39, 37, 0.886), (0, 267, 0.004), (267, 269, 0.097), (269, 270, 0.943), (409, 291, 1.0),
    (321, 405, 0.22), (405, 314, 0.627), (314, 17, 0.996), (84, 181, 0.259), (181, 91, 0.619),
    (78, 191, 0.338), (80, 81, 0.955), (13, 312, 0.01), (311, 310, 0.155), (415, 308, 0.668),
    (318, 402, 0.891), (317, 14, 0.992), (87, 178, 0.958),
)
"""Per iBUG point 0..67, ``(a, b, t)``: the point ``(1 - t) p[a] + t p[b]``
(see the module doc; written by ``benchmarks/mesh_map.py``)."""


JAW_CONFIDENCE = 0.2
"""Fitting weight of the map's 17 jaw points relative to its inner 51: the
ratio of their inverse error variances, (3.6 / 8.5)^2 = 0.18, rounded, from
such a map's NME on AFLW2000-3D's balanced subset as issue 13 states it
(inner points 3.6 %, jaw 8.5 %). MediaPipe places the jaw of a pitched face
nearer its frontal place than the face's, so an evenly weighted fit tilts
the head too little. What it gains and what else was measured:
benchmarks/NOTES.md (AFLW2000-3D)."""

POINT_CONFIDENCE = np.concatenate([np.full(17, JAW_CONFIDENCE), np.ones(51)])
"""Per-point fitting confidence ``[68]`` of :func:`ibug68`'s points, for
:meth:`tfface.fitting.LandmarkFitter.fit`."""


def flip_confidence(difference: np.ndarray) -> np.ndarray:
    """Per-point fitting confidence ``[68]`` of one face's :func:`ibug68`
    points from ``difference`` ``[478, 2+]``, the face mesh's prediction on
    a crop less its prediction on the mirrored crop
    (:meth:`tfface.faces.mediapipe.FaceMesh.averaged`).

    Where the two predictions disagree the model is unsure, so the
    disagreement ``d`` of each point estimates its error's spread (as the
    spread of test-time augmentations does): inverse-variance weights
    ``2 m^2 / (m^2 + d^2)`` with ``m`` the face's median ``d`` (a point as
    unsure as the face's median one keeps weight 1, a sure one up to 2, one
    twice as unsure 0.4), times :data:`POINT_CONFIDENCE`. Relative to the
    face's own median, so a face that is unsure everywhere (a profile) keeps
    its points' total weight against the fit's prior. What it gained:
    benchmarks/NOTES.md (AFLW2000-3D)."""
    spread = np.linalg.norm(ibug68(difference), axis=1)
    scale = np.median(spread) ** 2
    if scale <= 0:
        return POINT_CONFIDENCE
    return POINT_CONFIDENCE * 2 * scale / (scale + spread ** 2)


def ibug68(mesh_points: np.ndarray,
           mapping: Sequence[Tuple[int, int, float]] = IBUG_FROM_MESH,
           columns: int = 2) -> np.ndarray:
    """``[478, 2+]`` mesh points -> ``[68, columns]`` iBUG points (``columns=3``
    keeps the mesh's depth)."""
    a, b, t = (np.array(column) for column in zip(*mapping))
    xy = np.asarray(mesh_points)[:, :columns]
    return (1 - t)[:, None] * xy[a.astype(int)] + t[:, None] * xy[b.astype(int)]


def mirror_permutation(pairs: Sequence[Tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """:data:`MESH_MIRROR` from ``pairs`` of meshes ``[478, 2+]`` of one face:
    as predicted, and as predicted on the mirrored crop then mapped back to
    the photo (so vertex ``j`` of the second sits where the face has its
    mirror vertex). The assignment of least total distance (in outer-eye-
    corner distances) over both directions, which makes it an involution."""
    from scipy.optimize import linear_sum_assignment
    cost = np.zeros((478, 478))
    for direct, mirrored in pairs:
        eyes = np.linalg.norm(direct[33, :2] - direct[263, :2])
        cost += np.linalg.norm(direct[:, None, :2] - mirrored[None, :, :2], axis=2) / eyes
    _, permutation = linear_sum_assignment(cost + cost.T)
    return permutation


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
