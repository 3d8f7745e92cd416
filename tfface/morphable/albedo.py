"""A small, honest albedo basis for a shape-only model (skin tone + smooth modes).

No permissively licensed face albedo model exists, so a model without one
(ICT-FaceKit, the Surrey model) gets this instead:

* **mean**: one mid skin tone, :data:`MEAN_SKIN` (linear RGB, 0..1), the
  same on every vertex;
* **3 global colour modes**: skin lightness along the light-to-dark skin-tone
  axis (:data:`SKIN_TONE_AXIS`; +-2 s.d. spans very light to very dark skin),
  then redness and yellowness (s.d. :data:`CHROMA_SD`), uniform over the face;
* **K smooth spatial modes**: the lowest non-constant eigenvectors of the
  mesh's normalised graph Laplacian (the smoothest functions on the surface),
  in lightness only, each scaled to an r.m.s. of :data:`SPATIAL_SD`.

It explains skin tone and slow variation (a redder lower face, a darker
forehead); it cannot explain lips, brows, stubble, make-up or freckles, and
its spatial modes are too smooth and too weak to explain away shading, which
stays the SH light's job. It is not a statistical model of measured albedo.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

MEAN_SKIN = np.array([0.60, 0.44, 0.36])
"""Mid skin tone, linear RGB."""
SKIN_TONE_AXIS = np.array([0.13, 0.11, 0.10])
"""One s.d. of skin lightness (light skin is the mean + 2 s.d., dark - 2 s.d.)."""
CHROMA_SD = 0.025
SPATIAL_SD = 0.03
_REDNESS = np.array([1.0, -0.5, -0.5]) / np.sqrt(1.5)
_YELLOWNESS = np.array([0.5, 0.5, -1.0]) / np.sqrt(1.5)
_LIGHTNESS = np.ones(3) / np.sqrt(3.0)


def laplacian_modes(triangles: np.ndarray, num_vertices: int, count: int) -> np.ndarray:
    """The ``count`` smoothest non-constant functions on a mesh ``[V, count]``.

    Eigenvectors of the symmetric normalised graph Laplacian with the
    smallest eigenvalues (shift-invert ARPACK), the first (constant) one
    dropped; each column has unit r.m.s. and a fixed sign (positive sum of
    cubes) so the basis is reproducible.
    """
    import scipy.sparse
    import scipy.sparse.csgraph
    import scipy.sparse.linalg
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    adjacency = scipy.sparse.coo_matrix(
        (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(num_vertices,) * 2).tocsr()
    adjacency = ((adjacency + adjacency.T) > 0).astype(np.float64)
    laplacian = scipy.sparse.csgraph.laplacian(adjacency, normed=True)
    values, vectors = scipy.sparse.linalg.eigsh(laplacian, k=count + 1, sigma=-1e-3,
                                                which="LM", v0=np.ones(num_vertices))
    vectors = vectors[:, np.argsort(values)][:, 1:]
    vectors /= np.sqrt(np.mean(vectors ** 2, 0))
    return vectors * np.sign(np.sum(vectors ** 3, 0))


def skin_albedo(triangles: np.ndarray, num_vertices: int,
                spatial_modes: int = 6) -> Tuple[np.ndarray, np.ndarray]:
    """Mean albedo ``[V, 3]`` and basis ``[3V, 3 + spatial_modes]`` (row
    ``3*v + c``; coefficient 1.0 = one s.d.), as described in this module."""
    v = num_vertices
    columns = [np.tile(axis, v) for axis in
               (SKIN_TONE_AXIS, CHROMA_SD * _REDNESS, CHROMA_SD * _YELLOWNESS)]
    if spatial_modes:
        modes = laplacian_modes(np.asarray(triangles), v, spatial_modes)
        columns += [(SPATIAL_SD * mode[:, None] * _LIGHTNESS).reshape(-1) for mode in modes.T]
    return np.tile(MEAN_SKIN, (v, 1)), np.stack(columns, 1)
