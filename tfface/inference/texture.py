"""UV textures from the photo: what the camera saw, and an albedo estimate.

For every texel of the model's UV layout (``uv`` / ``uv_triangles``): its
point on the fitted mesh (the texel's triangle and barycentric
coordinates) -> projected into the photo -> colour, weighted by
visibility (the triangle-id buffer of tfface's rasterizer: the point's
pixel must show its own triangle or one sharing a vertex, and lie clear of
the face's outer silhouette, :data:`SILHOUETTE_MARGIN`) and by how
squarely the surface faces the camera (the normal's z, squared). Texels
the camera did not see take the colour of the mirror-symmetric point of the
face (:func:`vertex_symmetry`), then the fitted albedo (times the fitted
shading, for the photo texture). Chart edges are padded outwards
(:data:`SEAM_PADDING` texels) so mip-mapping shows no dark seams.

Two textures: ``photo`` (colours as seen) and ``albedo`` (the photo divided
by the fitted SH shading at each texel, clipped to 0..1).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Optional, Tuple

import cv2
import numpy as np
import scipy.sparse
from scipy.spatial import cKDTree

from tfface.errors import TfFaceError
from tfface.faces.align import apply_transform, compose_transforms, resize_transform
from tfface.morphable.model import MorphableModel

SEAM_PADDING = 8
MIN_WEIGHT = 0.05
"""Texels seen less squarely than this (normal z squared) are filled instead."""
SILHOUETTE_MARGIN = 1 / 64
"""Points whose pixel lies this close to the face's outer silhouette in the
visibility render (a fraction of its width: 8 px at 512, about 3 % of the
face's width, jaw to jaw) count as unseen: where the fitted outline
overhangs the real face they would take the background's colour (sky on
the far cheek of a turned face). The mesh's openings (eyes, mouth) are not
silhouette. Chosen of 0, 4, 8, 12, 16 px on 48 synthetic renders over
random backgrounds, reconstructed from their landmarks: photo-texture error
22.63, 22.36, 22.37, 22.49, 22.65 / 255, texels off by more than 0.2 14.6,
14.1, 13.7, 13.4, 13.2 %. The band also runs along the mesh's open borders
(forehead, neck, ears), which then take the mirror or the albedo: on the
photos of ``../shared/faces`` 10 % of the texels fewer are seen (frontal
faces 70 -> 60 %). Sparing surfaces that face the camera (normal z above
0.35 or 0.5, so that only the occluding contour counts) undid the gain on
the renders (22.82, 22.73 / 255)."""
VISIBILITY_SIZE = 512
"""Size of the crop render whose triangle ids decide visibility."""


@dataclasses.dataclass
class Texture:
    """``photo`` and ``albedo`` ``[S, S, 3]`` uint8 (row 0 = v 1, as image
    files store UV textures); ``source`` ``[S, S]`` uint8: 0 outside the
    charts, 1 seen, 2 mirrored, 3 albedo fill; ``weight`` ``[S, S]`` how
    squarely each texel was seen (mirrored texels a thousandth of their
    mirror's, filled ones 0)."""

    photo: np.ndarray
    albedo: np.ndarray
    source: np.ndarray
    weight: np.ndarray


class TextureAccumulator:
    """One texture from many views of a face (a video track): per texel, the
    colour of the view that saw it most squarely; charts re-padded at the end."""

    def __init__(self) -> None:
        self.texture: Optional[Texture] = None

    def add(self, texture: Texture) -> None:
        if self.texture is None:  # a copy: the views given stay as they are
            self.texture = Texture(*(getattr(texture, f.name).copy()
                                     for f in dataclasses.fields(texture)))
            return
        best = self.texture
        better = texture.weight > best.weight
        best.photo[better], best.albedo[better] = texture.photo[better], texture.albedo[better]
        best.source[better], best.weight[better] = texture.source[better], texture.weight[better]

    def result(self) -> Optional[Texture]:
        """The accumulated texture (None before the first view)."""
        if self.texture is None:
            return None
        covered = self.texture.source > 0
        both = np.concatenate([self.texture.photo, self.texture.albedo], -1) / 255.0
        both = _to_uint8(pad_charts(both.astype(np.float32), covered))
        return dataclasses.replace(self.texture, photo=both[..., :3], albedo=both[..., 3:])


@dataclasses.dataclass(frozen=True)
class UVLayout:
    """The texels a model's UV charts cover at one size: ``rows``, ``cols``
    ``[N]``, their ``triangle`` ``[N]``, ``barycentric`` ``[N, 3]``, and
    ``interpolation``, the sparse ``[N, V]`` matrix that interpolates
    per-vertex values at the texels."""

    size: int
    rows: np.ndarray
    cols: np.ndarray
    triangle: np.ndarray
    barycentric: np.ndarray
    interpolation: object


def require_uv_layout(model: MorphableModel) -> None:
    """A one-line :class:`TfFaceError` unless ``model`` has a UV layout."""
    if model.uv is None:
        raise TfFaceError(f"{model.source}: the model has no UV layout ('uv', 'uv_triangles'); "
                          "textures need one (the default ICT-FaceKit model has it)")


@functools.lru_cache(maxsize=4)
def uv_layout(model: MorphableModel, size: int) -> UVLayout:
    """Rasterise the UV triangles of ``model`` at ``size`` x ``size`` texels."""
    require_uv_layout(model)
    corners = model.uv[model.uv_triangles].astype(np.float64)        # [T, 3, 2]
    texel = np.stack([corners[..., 0] * size - 0.5, (1 - corners[..., 1]) * size - 0.5], -1)
    ids = np.full((size, size), -1, np.int32)
    for t, triangle in enumerate(np.round(texel * 16).astype(np.int32)):
        cv2.fillConvexPoly(ids, triangle, t, lineType=cv2.LINE_8, shift=4)
    rows, cols = np.nonzero(ids >= 0)
    triangle = ids[rows, cols]
    a, b, c = (texel[triangle, k] for k in range(3))
    p = np.stack([cols, rows], 1).astype(np.float64)
    v0, v1, v2 = b - a, c - a, p - a
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    w1 = (v2[:, 0] * v1[:, 1] - v2[:, 1] * v1[:, 0]) / det
    w2 = (v0[:, 0] * v2[:, 1] - v0[:, 1] * v2[:, 0]) / det
    bary = np.clip(np.stack([1 - w1 - w2, w1, w2], 1), 0, 1)
    bary /= bary.sum(1, keepdims=True)
    matrix = scipy.sparse.csr_matrix(
        (bary.reshape(-1).astype(np.float32), (np.repeat(np.arange(len(rows)), 3),
                            model.triangles[triangle].reshape(-1))),
        shape=(len(rows), model.num_vertices))
    return UVLayout(size, rows, cols, triangle, bary, matrix)


@functools.lru_cache(maxsize=4)
def vertex_symmetry(model: MorphableModel) -> np.ndarray:
    """Mirror vertex ``[V]`` of each vertex: the vertex nearest to its mean-shape
    position reflected in the model's x = centre plane."""
    shape = model.mean_shape.astype(np.float64)
    mirrored = shape * [-1, 1, 1] + [2 * model.center[0], 0, 0]
    return cKDTree(shape).query(mirrored)[1].astype(np.int64)


@functools.lru_cache(maxsize=4)
def triangle_symmetry(model: MorphableModel) -> np.ndarray:
    """Mirror triangle ``[T]`` of each triangle (the one made of its corners'
    mirror vertices), -1 where those do not form a triangle."""
    key = lambda tris: [tuple(t) for t in np.sort(tris, axis=1)]  # noqa: E731
    index = {k: i for i, k in enumerate(key(model.triangles))}
    mirrored = key(vertex_symmetry(model)[model.triangles])
    return np.array([index.get(k, -1) for k in mirrored], np.int64)


def split_at_uv_seams(model: MorphableModel) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A vertex per distinct (vertex, UV) corner pair, as glTF and most tools
    want: ``(vertex_ids [V'], uv [V', 2], triangles [T, 3])`` into the new
    vertices (``vertices[vertex_ids]`` gives their positions)."""
    pairs = np.stack([model.triangles.reshape(-1), model.uv_triangles.reshape(-1)], 1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    return unique[:, 0], model.uv[unique[:, 1]], inverse.reshape(-1, 3)


def face_texture(reconstructor, photo: np.ndarray, face, size: int = 1024) -> Texture:
    """The textures of a reconstructed ``face`` (a
    :class:`tfface.inference.reconstruct.FaceReconstruction` of the uint8 RGB ``photo``)."""
    renderer = reconstructor.overlay_renderer
    to_photo = compose_transforms(face.aligned.inverse,
                                  resize_transform(reconstructor.size / renderer.image_size[1]))
    return extract_texture(photo, reconstructor.model, renderer, face.params, to_photo, size)


def extract_texture(photo: np.ndarray, model: MorphableModel, renderer, params: np.ndarray,
                    to_photo: np.ndarray, size: int = 1024) -> Texture:
    """The photo and albedo textures ``[size, size, 3]`` of the face that
    ``params`` ``[P]`` describe, seen by ``renderer`` (a
    :class:`tfface.layers.Renderer` of ``model``; its triangle ids decide
    visibility) whose image maps into the uint8 RGB ``photo`` ``[H, W, 3]``
    by the affine ``to_photo`` ``[2, 3]``."""
    from tfface.layers.rasterizer import rasterize_triangle_ids
    layout = uv_layout(model, int(size))
    params = np.asarray(params, np.float32)[None]
    out = {k: v.numpy()[0] for k, v in renderer.compute_for_render(params).items()}
    pixels, albedo, normals, shading = (out[k] for k in ("pixels", "albedo", "normals",
                                                         "shading"))
    ids = rasterize_triangle_ids(out["clip"][None], model.triangles.astype(np.int32),
                                 renderer.image_size)[0].numpy()
    photo = photo.astype(np.float32) / 255.0
    corners = model.triangles[layout.triangle]                           # [N, 3]
    symmetry = vertex_symmetry(model)
    interpolate = layout.interpolation
    # per vertex: crop pixel, photo pixel, normal z (affine maps commute with interpolation)
    vertex_data = np.concatenate([pixels, apply_transform(to_photo, pixels), normals[:, 2:]], 1)
    texels = interpolate @ np.concatenate(  # one sparse product for all per-texel values
        [vertex_data, vertex_data[symmetry], shading, albedo], 1).astype(np.float32)
    clear = outline_distance(ids) > SILHOUETTE_MARGIN * ids.shape[1]
    own = _sample(photo, corners, layout.triangle, texels[:, :5], ids, clear, model)
    mirrored = _sample(photo, symmetry[corners], triangle_symmetry(model)[layout.triangle],
                       texels[:, 5:10], ids, clear, model)
    shade, base = texels[:, 10:13], texels[:, 13:16]
    seen, from_mirror = own[1] >= MIN_WEIGHT, mirrored[1] >= MIN_WEIGHT
    colour = np.where(seen[:, None], own[0],
                      np.where(from_mirror[:, None], mirrored[0], base * shade))
    source = np.where(seen, 1, np.where(from_mirror, 2, 3)).astype(np.uint8)
    weight = np.where(seen, own[1], np.where(from_mirror, 1e-3 * mirrored[1], 0.0))
    albedo_texels = np.where(source[:, None] == 3, base,
                             colour / np.maximum(shade, 1e-3))
    both = np.zeros((size, size, 6), np.float32)
    both[layout.rows, layout.cols] = np.concatenate([colour, albedo_texels], 1)
    charts = np.zeros((size, size), np.uint8)
    charts[layout.rows, layout.cols] = source
    weights = np.zeros((size, size), np.float32)
    weights[layout.rows, layout.cols] = weight
    both = _to_uint8(pad_charts(both, charts > 0))
    return Texture(both[..., :3], both[..., 3:], charts, weights)


def outline_distance(ids: np.ndarray) -> np.ndarray:
    """Distance ``[H, W]`` (pixels) of each pixel of a triangle-id buffer
    ``[H, W]`` (-1: no triangle) from the background around the face; holes
    inside it (the eye and mouth openings) are not background."""
    empty = (ids < 0).astype(np.uint8)
    _, labels = cv2.connectedComponents(empty, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    background = np.isin(labels, edge[edge > 0])
    return cv2.distanceTransform((~background).astype(np.uint8), cv2.DIST_L2, 3)


def _sample(photo: np.ndarray, corners: np.ndarray, triangle: np.ndarray, points: np.ndarray,
            ids: np.ndarray, clear: np.ndarray, model: MorphableModel
            ) -> Tuple[np.ndarray, np.ndarray]:
    """Colour ``[N, 3]`` in ``photo`` (float, 0..1) and weight ``[N]`` of surface
    points on the triangles of vertex ``corners`` ``[N, 3]`` (``triangle``
    ``[N]``: their ids, -1 where the corners form none); ``points`` ``[N, 5]``:
    their crop pixel (x, y), photo pixel (x, y) and normal z. A point is
    visible when its pixel shows its triangle or one sharing a vertex and is
    ``clear`` (``[H, W]`` bool) of the silhouette."""
    crop, where, facing = points[:, :2], points[:, 2:4].astype(np.float32), points[:, 4]
    h, w = ids.shape
    x = np.clip(np.round(crop[:, 0]).astype(int), 0, w - 1)
    y = np.clip(np.round(crop[:, 1]).astype(int), 0, h - 1)
    shown = ids[y, x]
    weight = np.clip(facing, 0, 1) ** 2
    candidate = (shown >= 0) & (weight > 0) & clear[y, x]  # the rest: hidden, turned away
    visible = candidate & (shown == triangle)
    check = np.flatnonzero(candidate & ~visible)
    shown_corners = model.triangles[shown[check]]
    shares = (shown_corners[:, :, None] == corners[check][:, None, :]).any((1, 2))
    visible[check[shares]] = True
    weight = np.where(visible, weight, 0.0)
    rows = -(-len(where) // 1024)  # remap wants maps narrower than 32k: fold them
    folded = np.zeros((rows * 1024, 2), np.float32)
    folded[:len(where)] = where
    folded = folded.reshape(rows, 1024, 2)
    colour = cv2.remap(photo, folded[..., 0], folded[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)[:len(where)]
    return colour, weight


def pad_charts(image: np.ndarray, covered: np.ndarray, texels: int = SEAM_PADDING) -> np.ndarray:
    """Grow ``image`` ``[S, S, C]`` outwards from the ``covered`` texels by
    ``texels``: each texel within that distance of a chart takes the colour
    of the nearest covered texel (one distance transform)."""
    distance, labels = cv2.distanceTransformWithLabels(
        (~covered).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    rows, cols = np.nonzero(covered)
    source = np.zeros(labels.max() + 1, np.int64)  # label -> flat index of its covered texel
    source[labels[rows, cols]] = rows * covered.shape[1] + cols
    grow = (~covered) & (distance <= texels)
    out = image.copy()
    flat = out.reshape(-1, image.shape[-1])
    flat[np.flatnonzero(grow)] = flat[source[labels[grow]]]
    return out


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
