"""Rigid pose, scale and pinhole / weak-perspective projection."""

from __future__ import annotations

from typing import Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from tfface.layers.serialization import PACKAGE
from tfface.pinhole import (DEFAULT_FACE_FRACTION, DEFAULT_FOV_DEGREES, PinholeCamera,
                            focal_length)
from tfface.shapes import check_shape

PROJECTIONS = ("perspective", "weak_perspective")


def rotation_matrix(angles: tf.Tensor) -> tf.Tensor:
    """Rotation matrices from Euler angles.

    Convention: ``angles = (pitch, yaw, roll)`` in radians about the x, y and z
    axes, ``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)`` (extrinsic x, then y, then z:
    scipy ``Rotation.from_euler("xyz", angles)``). Positive yaw turns the face
    towards +x (the viewer's right).

    Args:
      angles: ``[..., 3]``.

    Returns:
      ``[..., 3, 3]``.
    """
    a, b, c = tf.unstack(angles, axis=-1)
    ca, sa, cb, sb, cc, sc = tf.cos(a), tf.sin(a), tf.cos(b), tf.sin(b), tf.cos(c), tf.sin(c)
    rows = [
        [cc * cb, cc * sb * sa - sc * ca, cc * sb * ca + sc * sa],
        [sc * cb, sc * sb * sa + cc * ca, sc * sb * ca - cc * sa],
        [-sb, cb * sa, cb * ca],
    ]
    return tf.stack([tf.stack(row, axis=-1) for row in rows], axis=-2)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Camera(keras.layers.Layer):
    """Pose + projection: model-space vertices -> world, clip space and pixels.

    world  = exp(scale) * R(rotation) @ (vertices - center) + translation
    The camera sits at ``(0, 0, distance)`` looking down -z with +y up;
    depth = distance - world_z.

    Pixel coordinates: x right, y down, pixel centres at integers (OpenCV).
    ``focal = (width / 2) / tan(fov / 2)`` pixels;
    perspective: ``u = (W - 1) / 2 + focal * x / depth``,
    ``v = (H - 1) / 2 - focal * y / depth``;
    weak perspective (scaled orthographic): depth replaced by ``distance``.

    Clip space follows tensorflow-graphics: NDC y = -1 is image row 0 (top),
    so renders are upright; z/w is the OpenGL depth for ``near``/``far`` at
    ``distance / 10`` and ``distance * 10``, affine in screen space.

    Call: ``camera(vertices [B, V, 3], rotation [B, 3], translation [B, 3],
    scale [B, 1])`` -> ``(world [B, V, 3], clip [B, V, 4], pixels [B, V, 2])``.
    """

    def __init__(self, image_size: Sequence[int] = (224, 224),
                 fov_degrees: float = DEFAULT_FOV_DEGREES,
                 distance: float = 1000.0, center: Sequence[float] = (0.0, 0.0, 0.0),
                 projection: str = "perspective", **kwargs) -> None:
        super().__init__(**kwargs)
        if projection not in PROJECTIONS:
            raise ValueError(f"Camera: projection must be one of {PROJECTIONS}, got {projection!r}")
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.fov_degrees = float(fov_degrees)
        self.distance = float(distance)
        self.center = tuple(float(c) for c in center)
        self.projection = projection

    @classmethod
    def for_model(cls, model, image_size: Sequence[int] = (224, 224),
                  fov_degrees: float = DEFAULT_FOV_DEGREES,
                  face_fraction: float = DEFAULT_FACE_FRACTION, **kwargs) -> "Camera":
        """Camera at the distance where the mean face spans ``face_fraction``
        of the width (:meth:`tfface.pinhole.PinholeCamera.for_model`)."""
        placed = PinholeCamera.for_model(model, image_size, fov_degrees, face_fraction)
        return cls(image_size, fov_degrees, placed.distance, tuple(model.center.tolist()),
                   **kwargs)

    @property
    def focal(self) -> float:
        return focal_length(self.image_size[1], self.fov_degrees)

    @property
    def pinhole(self) -> PinholeCamera:
        """This camera as numbers, for code outside the graph."""
        return PinholeCamera(self.focal, self.distance, self.image_size,
                             np.asarray(self.center, np.float64),
                             self.projection == "perspective")

    @property
    def near_far(self) -> Tuple[float, float]:
        return self.distance / 10.0, self.distance * 10.0

    def to_world(self, vertices, rotation, translation, scale):
        """``[B, V, 3]`` model space -> ``[B, V, 3]`` world space."""
        r = rotation_matrix(rotation)
        centred = vertices - tf.constant(self.center, tf.float32)
        rotated = tf.einsum("bij,bvj->bvi", r, centred)
        return tf.exp(scale)[:, None, :] * rotated + translation[:, None, :]

    def rotate_normals(self, normals, rotation):
        """``[B, V, 3]`` model-space normals -> world space."""
        return tf.einsum("bij,bvj->bvi", rotation_matrix(rotation), normals)

    def view_projection_matrix(self) -> np.ndarray:
        """World -> clip transform ``[4, 4]`` (column vectors), tfg conventions.

        ``clip = M @ [x, y, z, 1]``: x and y scaled by ``2 focal / size`` (y
        flipped so image row 0 is the top), ``w = distance - z`` (perspective)
        or ``distance`` (weak perspective), and ``z / w`` the OpenGL depth for
        ``near_far`` (hyperbolic or linear in depth). The flip mirrors triangle
        winding: counter-clockwise triangles appear clockwise in this clip space.
        """
        height, width = self.image_size
        near, far = self.near_far
        d = self.distance
        x_row = [2.0 * self.focal / width, 0.0, 0.0, 0.0]
        y_row = [0.0, -2.0 * self.focal / height, 0.0, 0.0]
        if self.projection == "perspective":
            z_row = [0.0, 0.0, -(far + near) / (far - near),
                     ((far + near) * d - 2.0 * far * near) / (far - near)]
            w_row = [0.0, 0.0, -1.0, d]
        else:
            z_row = [0.0, 0.0, -2.0 * d / (far - near), d * (2.0 * (d - near) / (far - near) - 1.0)]
            w_row = [0.0, 0.0, 0.0, d]
        return np.array([x_row, y_row, z_row, w_row], np.float32)

    def to_clip(self, world):
        """``[B, V, 3]`` world -> ``[B, V, 4]`` clip space (tfg conventions)."""
        matrix = tf.constant(self.view_projection_matrix())
        return tf.einsum("ij,bvj->bvi", matrix[:, :3], world) + matrix[:, 3]

    def to_pixels(self, world):
        """``[B, V, 3]`` world -> ``[B, V, 2]`` pixel coordinates."""
        height, width = self.image_size
        w = self.distance - world[..., 2] if self.projection == "perspective" else self.distance
        return tf.stack([(width - 1) / 2.0 + self.focal * world[..., 0] / w,
                         (height - 1) / 2.0 - self.focal * world[..., 1] / w], axis=-1)

    def call(self, vertices, rotation, translation, scale):
        check_shape(vertices, "Camera: vertices", ("B", "V", 3))
        check_shape(rotation, "Camera: rotation", ("B", 3))
        check_shape(translation, "Camera: translation", ("B", 3))
        check_shape(scale, "Camera: scale", ("B", 1))
        world = self.to_world(vertices, rotation, translation, scale)
        return world, self.to_clip(world), self.to_pixels(world)

    def compute_output_shape(self, vertices_shape, *shapes):
        b, v = vertices_shape[0], vertices_shape[1]
        return (b, v, 3), (b, v, 4), (b, v, 2)

    def get_config(self):
        return {**super().get_config(), "image_size": list(self.image_size),
                "fov_degrees": self.fov_degrees, "distance": self.distance,
                "center": list(self.center), "projection": self.projection}
