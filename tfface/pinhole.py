"""The renderer's camera as numbers (numpy): Euler angles, focal length, projection.

:class:`tfface.layers.Camera` is the Keras layer that does the same in the
graph; this module is what code without TensorFlow needs (the landmark
fit, the alignment template), and the one place that places the camera.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence, Tuple

import numpy as np

DEFAULT_FOV_DEGREES = 12.6
"""Horizontal field of view of the renderer's camera."""
DEFAULT_FACE_FRACTION = 0.6
"""The mean face spans this fraction of the image width at neutral pose."""


def focal_length(width: int, fov_degrees: float) -> float:
    """Pinhole focal length in pixels: ``(width / 2) / tan(fov / 2)``."""
    return (width / 2) / math.tan(math.radians(fov_degrees) / 2)


def euler_matrix(angles: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` of Euler angles ``[..., 3]`` =
    (pitch, yaw, roll) radians: ``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)``
    (scipy ``Rotation.from_euler("xyz", angles)``); as
    :func:`tfface.layers.camera.rotation_matrix` in the graph."""
    angles = np.asarray(angles, np.float64)
    cos, sin = np.cos(angles), np.sin(angles)
    ca, cb, cc = cos[..., 0], cos[..., 1], cos[..., 2]
    sa, sb, sc = sin[..., 0], sin[..., 1], sin[..., 2]
    rows = ((cc * cb, cc * sb * sa - sc * ca, cc * sb * ca + sc * sa),
            (sc * cb, sc * sb * sa + cc * ca, sc * sb * ca - cc * sa),
            (-sb, cb * sa, cb * ca))
    matrix = np.empty(angles.shape[:-1] + (3, 3))  # filled in place: np.stack costs 3x here
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            matrix[..., i, j] = value
    return matrix


def wrap_angles(angles: np.ndarray) -> np.ndarray:
    """Angles ``[...]`` (radians) wrapped into [-pi, pi): the same rotation."""
    return (np.asarray(angles) + np.pi) % (2 * np.pi) - np.pi


def euler_from_matrix(matrix: np.ndarray) -> np.ndarray:
    """Inverse of :func:`euler_matrix`, ``[..., 3, 3] -> [..., 3]``."""
    matrix = np.asarray(matrix, np.float64)
    yaw = -np.arcsin(np.clip(matrix[..., 2, 0], -1.0, 1.0))
    pitch = np.arctan2(matrix[..., 2, 1], matrix[..., 2, 2])
    roll = np.arctan2(matrix[..., 1, 0], matrix[..., 0, 0])
    return np.stack([pitch, yaw, roll], axis=-1)


@dataclasses.dataclass(frozen=True)
class PinholeCamera:
    """The renderer's camera: ``focal`` px, ``distance`` (model units) of the
    camera from the origin along +z, image ``size`` ``(H, W)`` px, pose pivot
    ``center`` ``[3]``, perspective or weak perspective (depth = distance).
    Pixels: x right, y down, pixel centres at integers (OpenCV)."""

    focal: float
    distance: float
    size: Tuple[int, int]
    center: np.ndarray
    perspective: bool = True

    @classmethod
    def for_model(cls, model, image_size: Sequence[int] = (224, 224),
                  fov_degrees: float = DEFAULT_FOV_DEGREES,
                  face_fraction: float = DEFAULT_FACE_FRACTION,
                  perspective: bool = True) -> "PinholeCamera":
        """The camera at the distance where ``model``'s mean face spans
        ``face_fraction`` of the image width."""
        focal = focal_length(image_size[1], fov_degrees)
        return cls(focal, focal * model.width / (face_fraction * image_size[1]),
                   (int(image_size[0]), int(image_size[1])),
                   np.asarray(model.center, np.float64), perspective)

    def project(self, world: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Pixels ``[N, 2]`` of world points ``[N, 3]`` and d(pixels)/d(world) ``[N, 2, 3]``."""
        h, w = self.size
        depth = self.distance - world[:, 2] if self.perspective else np.full(len(world),
                                                                             self.distance)
        pixels = np.stack([(w - 1) / 2 + self.focal * world[:, 0] / depth,
                           (h - 1) / 2 - self.focal * world[:, 1] / depth], 1)
        jac = np.zeros((len(world), 2, 3))
        jac[:, 0, 0] = self.focal / depth
        jac[:, 1, 1] = -self.focal / depth
        if self.perspective:
            jac[:, 0, 2] = self.focal * world[:, 0] / depth ** 2
            jac[:, 1, 2] = -self.focal * world[:, 1] / depth ** 2
        return pixels, jac

    def mean_face_template(self, model) -> np.ndarray:
        """``[68, 2]`` where ``model``'s mean-face landmarks land at neutral pose,
        as fractions of the image size (the alignment template)."""
        points = model.mean_shape[model.landmark_indices] - self.center
        pixels, _ = self.project(points)
        return (pixels + 0.5) / np.array(self.size[::-1], np.float64)
