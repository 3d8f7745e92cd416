"""Triangle rasterization: a plain-TF visibility pass + tfg differentiable shading.

Visibility (which triangle covers each pixel) is computed with ordinary
TensorFlow ops, so it runs on CPU and GPU, under ``tf.distribute`` and in
exported graphs without a custom kernel: every triangle enumerates the pixel
centres in its bounding box, keeps those passing the three edge tests, and a
z-buffer picks the nearest with ``unsorted_segment_min`` over a packed
``depth << 32 | triangle_id`` int64 key. Visibility is piecewise constant
(no gradient); gradients come from tensorflow-graphics:

* tfg's ``barycentrics.compute_triangle_matrices`` re-derives
  perspective-correct barycentrics from the clip-space vertices (XLA-compiled,
  see :func:`differentiable_barycentrics`) and
  ``interpolate.interpolate_vertex_attribute`` interpolates with them, so
  images are differentiable w.r.t. vertex positions and attributes;
* with ``silhouette_gradients=True`` the shaded buffer is splatted with
  ``splat.splat_at_pixel_centers`` (rasterize-then-splat, Cole et al. 2021),
  which also gives gradients at occlusion boundaries and silhouettes.

Image orientation: row 0 is the top of the image (NDC y = -1 in tfg's clip
convention, see :class:`tfface.layers.camera.Camera`).
"""

from __future__ import annotations

from typing import Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf
from tensorflow_graphics.rendering import barycentrics as tfg_barycentrics
from tensorflow_graphics.rendering import framebuffer as tfg_framebuffer
from tensorflow_graphics.rendering import interpolate as tfg_interpolate
from tensorflow_graphics.rendering import splat as tfg_splat

from tfface.layers.serialization import PACKAGE, TriangleTopology, constant_weight
from tfface.shapes import check_shape

_DEPTH_LEVELS = 2 ** 31 - 1
_EMPTY = np.iinfo(np.int64).max


def _edge(ax, ay, bx, by, px, py):
    """Twice the signed area of (a, b, p)."""
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


@tf.function(reduce_retracing=True, autograph=False)
def rasterize_triangle_ids(clip_vertices: tf.Tensor, triangles: tf.Tensor,
                           image_size: Tuple[int, int],
                           cull_backfaces: bool = False) -> tf.Tensor:
    """Nearest triangle covering each pixel centre (plain TF, no gradient).

    Compiled as a ``tf.function`` (not XLA: the per-pixel lists have
    data-dependent lengths); ``image_size`` and ``cull_backfaces`` are part
    of its trace, so each new value traces once.

    Args:
      clip_vertices: ``[B, V, 4]`` clip-space positions; z/w must be affine in
        screen space (true for any projective camera).
      triangles: ``[T, 3]`` int32 vertex ids, counter-clockwise from outside.
      image_size: ``(height, width)``.
      cull_backfaces: drop triangles seen from behind.

    Returns:
      ``[B, H, W]`` int32 triangle ids, -1 where no triangle covers the pixel.
      Triangles with a vertex outside the near/far range are skipped.
    """
    height, width = image_size
    clip_vertices = tf.stop_gradient(tf.cast(clip_vertices, tf.float32))
    triangles = tf.cast(triangles, tf.int32)
    batch = tf.shape(clip_vertices)[0]
    num_triangles = tf.shape(triangles)[0]

    w = clip_vertices[..., 3]
    safe_w = tf.where(tf.abs(w) > 1e-9, w, tf.ones_like(w))
    sx = (clip_vertices[..., 0] / safe_w + 1.0) * (0.5 * width) - 0.5
    sy = (clip_vertices[..., 1] / safe_w + 1.0) * (0.5 * height) - 0.5
    sz = clip_vertices[..., 2] / safe_w
    corners = tf.gather(tf.stack([sx, sy, sz, w], -1), triangles, axis=1)  # [B,T,3,4]
    corners = tf.reshape(corners, [-1, 3, 4])  # [B*T, 3, 4]
    x, y, z = corners[..., 0], corners[..., 1], corners[..., 2]
    area = _edge(x[:, 0], y[:, 0], x[:, 1], y[:, 1], x[:, 2], y[:, 2])

    valid = tf.reduce_all((corners[..., 3] > 0) & (z >= -1.0) & (z <= 1.0), axis=1)
    valid &= tf.abs(area) > 1e-12
    if cull_backfaces:  # y points down in pixels: front faces have negative area
        valid &= area < 0

    x0 = tf.maximum(tf.cast(tf.math.ceil(tf.reduce_min(x, 1)), tf.int32), 0)
    x1 = tf.minimum(tf.cast(tf.math.floor(tf.reduce_max(x, 1)), tf.int32), width - 1)
    y0 = tf.maximum(tf.cast(tf.math.ceil(tf.reduce_min(y, 1)), tf.int32), 0)
    y1 = tf.minimum(tf.cast(tf.math.floor(tf.reduce_max(y, 1)), tf.int32), height - 1)
    nx = tf.maximum(x1 - x0 + 1, 0)
    ny = tf.maximum(y1 - y0 + 1, 0)
    count = tf.where(valid, nx * ny, 0)

    # One entry per (triangle, pixel of its bounding box).
    owner = tf.repeat(tf.range(tf.shape(count)[0]), count)
    start = tf.cumsum(count, exclusive=True)
    local = tf.range(tf.reduce_sum(count)) - tf.gather(start, owner)
    owner_nx = tf.gather(nx, owner)
    px = tf.gather(x0, owner) + local % owner_nx
    py = tf.gather(y0, owner) + local // owner_nx
    fpx, fpy = tf.cast(px, tf.float32), tf.cast(py, tf.float32)

    cx, cy, cz = (tf.gather(t, owner) for t in (x, y, z))  # [N, 3]
    inv_area = 1.0 / tf.gather(area, owner)
    l0 = _edge(cx[:, 1], cy[:, 1], cx[:, 2], cy[:, 2], fpx, fpy) * inv_area
    l1 = _edge(cx[:, 2], cy[:, 2], cx[:, 0], cy[:, 0], fpx, fpy) * inv_area
    l2 = 1.0 - l0 - l1
    inside = (l0 >= 0) & (l1 >= 0) & (l2 >= 0)
    depth = l0 * cz[:, 0] + l1 * cz[:, 1] + l2 * cz[:, 2]

    owner, px, py, depth = (tf.boolean_mask(t, inside) for t in (owner, px, py, depth))
    image = owner // num_triangles
    triangle = owner % num_triangles
    depth_bits = tf.cast(tf.clip_by_value((depth + 1.0) * 0.5, 0.0, 1.0) * _DEPTH_LEVELS, tf.int64)
    key = tf.bitwise.left_shift(depth_bits, 32) | tf.cast(triangle, tf.int64)
    pixel = (image * height + py) * width + px
    nearest = tf.math.unsorted_segment_min(key, pixel, batch * height * width)
    ids = tf.where(nearest == _EMPTY, tf.constant(-1, tf.int64),
                   tf.bitwise.bitwise_and(nearest, tf.constant(0xFFFFFFFF, tf.int64)))
    return tf.reshape(tf.cast(ids, tf.int32), [batch, height, width])


def differentiable_barycentrics(triangle_ids: tf.Tensor, clip_vertices: tf.Tensor,
                                triangles: tf.Tensor) -> tf.Tensor:
    """Perspective-correct barycentrics, differentiable w.r.t. the vertices.

    The per-triangle matrices are tfg's
    ``barycentrics.compute_triangle_matrices`` (2D homogeneous rasterization,
    Olano & Greer 1997), evaluated at tfg's ``normalized_pixel_coordinates``:
    the same values as tfg's ``differentiable_barycentrics``, but gathered
    from a ``[B*T, 9]`` table instead of inside ``vectorized_map``, which XLA
    compiles (see :func:`interpolate`: forward+backward ~4x faster).

    Args:
      triangle_ids: ``[B, H, W]`` int32, -1 for background.
      clip_vertices: ``[B, V, 4]``.
      triangles: ``[T, 3]`` int32.

    Returns:
      ``[B, H, W, 3]``, zero on background pixels.
    """
    batch, height, width = (tf.shape(triangle_ids)[i] for i in range(3))
    num_vertices, num_triangles = tf.shape(clip_vertices)[1], tf.shape(triangles)[0]
    batched = tf.reshape(triangles[None] + (tf.range(batch) * num_vertices)[:, None, None], [-1, 3])
    matrices = tfg_barycentrics.compute_triangle_matrices(
        tf.reshape(clip_vertices, [-1, 4]), batched)  # [3, 3, B*T]
    table = tf.reshape(tf.transpose(matrices, [2, 0, 1]), [-1, 9])
    mask = triangle_ids >= 0
    rows = tf.where(mask, triangle_ids, 0) + (tf.range(batch) * num_triangles)[:, None, None]
    per_pixel = tf.reshape(tf.gather(table, rows), tf.stack([batch, height, width, 3, 3]))
    px, py = tfg_barycentrics.normalized_pixel_coordinates(width, height)
    bary = (per_pixel[..., 0] * px[None, :, :, None] + per_pixel[..., 1] * py[None, :, :, None]
            + per_pixel[..., 2])
    bary = tf.math.divide_no_nan(bary, tf.reduce_sum(bary, -1, keepdims=True))
    return bary * tf.cast(mask, bary.dtype)[..., None]


def framebuffer_from_ids(triangle_ids: tf.Tensor, clip_vertices: tf.Tensor,
                         triangles: tf.Tensor) -> tfg_framebuffer.Framebuffer:
    """tfg Framebuffer ``[B, H, W, C]`` with differentiable barycentrics."""
    triangles = tf.cast(triangles, tf.int32)
    mask = triangle_ids >= 0
    safe_ids = tf.where(mask, triangle_ids, 0)
    bary = differentiable_barycentrics(triangle_ids, clip_vertices, triangles)
    return tfg_framebuffer.Framebuffer(
        triangle_id=safe_ids[..., None], vertex_ids=tf.gather(triangles, safe_ids),
        foreground_mask=tf.cast(mask, tf.float32)[..., None],
        barycentrics=tfg_framebuffer.RasterizedAttribute(bary, None, None))


@tf.function(jit_compile=True, autograph=False)
def interpolate(triangle_ids: tf.Tensor, clip_vertices: tf.Tensor, triangles: tf.Tensor,
                attributes: tf.Tensor) -> tf.Tensor:
    """Attributes ``[B, V, C]`` interpolated at each pixel -> ``[B, H, W, C]``.

    tfg's ``interpolate_vertex_attribute`` over :func:`framebuffer_from_ids`,
    compiled with XLA as one function (forward and backward).
    """
    framebuffer = framebuffer_from_ids(triangle_ids, clip_vertices, triangles)
    return tfg_interpolate.interpolate_vertex_attribute(attributes, framebuffer).value


def _splat(framebuffer, clip_vertices, rgba, image_size):
    """Rasterize-then-splat over a single-layer framebuffer -> ``[B, H, W, 4]``."""
    clip = tfg_interpolate.interpolate_vertex_attribute(
        clip_vertices, framebuffer, (0.0, 0.0, 1.0, 1.0)).value
    ndc = clip[..., :3] / clip[..., 3:4]
    size = tf.constant([image_size[1], image_size[0], 1], tf.float32)
    viewport = (ndc + 1.0) * size * 0.5
    layered = (viewport[:, None], rgba[:, None])  # one depth layer: [B, 1, H, W, C]
    output, _, _ = tf.vectorized_map(tfg_splat.splat_at_pixel_centers, layered)
    return output


@keras.saving.register_keras_serializable(package=PACKAGE)
class Rasterizer(TriangleTopology, keras.layers.Layer):
    """Differentiable rasterizer for a fixed triangle topology.

    Call: ``rasterizer(clip_vertices [B, V, 4], attributes [B, V, C])`` ->
    ``(image [B, H, W, C], mask [B, H, W, 1])``; the image is premultiplied by
    the mask (background pixels are 0), so ``image + (1 - mask) * background``
    composites it.
    With ``silhouette_gradients`` the image and mask come from
    rasterize-then-splat (soft 1-pixel edges, gradients at silhouettes).
    """

    def __init__(self, num_triangles: int, image_size: Sequence[int] = (224, 224),
                 cull_backfaces: bool = False, silhouette_gradients: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_triangles = int(num_triangles)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.cull_backfaces = bool(cull_backfaces)
        self.silhouette_gradients = bool(silhouette_gradients)
        self.triangles = constant_weight(self, "triangles", (self.num_triangles, 3), "int32")

    def triangle_ids(self, clip_vertices):
        """``[B, H, W]`` int32 visible triangle per pixel, -1 for background."""
        return rasterize_triangle_ids(clip_vertices, tf.convert_to_tensor(self.triangles),
                                      self.image_size, self.cull_backfaces)

    def call(self, clip_vertices, attributes):
        check_shape(clip_vertices, "Rasterizer: clip_vertices", ("B", "V", 4))
        check_shape(attributes, "Rasterizer: attributes", ("B", "V", "C"))
        triangles = tf.convert_to_tensor(self.triangles)
        triangle_ids = self.triangle_ids(clip_vertices)
        if not self.silhouette_gradients:
            image = interpolate(triangle_ids, clip_vertices, triangles, attributes)
            return image, tf.cast(triangle_ids >= 0, image.dtype)[..., None]
        # Rasterize-then-splat: fixed barycentrics, so the surface samples move
        # with the vertices and the splat kernel carries the gradient.
        framebuffer = framebuffer_from_ids(triangle_ids, tf.stop_gradient(clip_vertices),
                                           triangles)
        colour = tfg_interpolate.interpolate_vertex_attribute(attributes, framebuffer).value
        rgba = tf.concat([colour, framebuffer.foreground_mask], -1) * framebuffer.foreground_mask
        out = _splat(framebuffer, clip_vertices, rgba, self.image_size)
        return out[..., :-1], out[..., -1:]

    def compute_output_shape(self, clip_vertices_shape, attributes_shape):
        h, w = self.image_size
        batch = clip_vertices_shape[0]
        return (batch, h, w, attributes_shape[-1]), (batch, h, w, 1)

    def get_config(self):
        return {**super().get_config(), "num_triangles": self.num_triangles,
                "image_size": list(self.image_size), "cull_backfaces": self.cull_backfaces,
                "silhouette_gradients": self.silhouette_gradients}
