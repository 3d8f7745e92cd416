"""Alignment: a scale + shift that puts 68 landmarks onto the mean-face template.

The template is where the morphable model's mean face, neutral pose, lands
in the renderer's image, so an aligned photo crop looks like what the
encoder saw in training. No in-plane rotation is removed (as in
Deep3DFaceRecon): the head pose the encoder predicts is the pose in the
photo. The inverse transform maps crop results back to the photo.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Optional

import cv2
import numpy as np

from tfface.pinhole import PinholeCamera


def mean_face_template(model, camera: Optional[PinholeCamera] = None) -> np.ndarray:
    """``[68, 2]`` mean-face landmarks of a morphable ``model`` seen by
    ``camera`` (default: the renderer's, :meth:`PinholeCamera.for_model`),
    as fractions of the image size."""
    camera = PinholeCamera.for_model(model) if camera is None else camera
    return camera.mean_face_template(model)


@functools.lru_cache(maxsize=1)
def default_template() -> np.ndarray:
    """The default (ICT-FaceKit) model's template (used when none is given)."""
    from tfface.morphable import default_model
    return mean_face_template(default_model())


@dataclasses.dataclass
class AlignedFace:
    """A crop ``[S, S, 3]`` uint8 RGB, its ``landmarks`` ``[68, 2]`` (crop
    pixels) and ``transform`` ``[2, 3]`` (photo -> crop pixels)."""

    crop: np.ndarray
    landmarks: np.ndarray
    transform: np.ndarray

    @property
    def inverse(self) -> np.ndarray:
        """``[2, 3]`` crop -> photo pixels."""
        return cv2.invertAffineTransform(self.transform)

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        """``[..., 2]`` crop pixels -> photo pixels."""
        return apply_transform(self.inverse, points)


def apply_transform(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a ``[2, 3]`` affine map to points ``[..., 2]``."""
    return points @ np.asarray(transform)[:, :2].T + np.asarray(transform)[:, 2]


def compose_transforms(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``[2, 3]`` affine map ``outer(inner(x))``."""
    outer, inner = np.asarray(outer, np.float64), np.asarray(inner, np.float64)
    return np.concatenate([outer[:, :2] @ inner[:, :2],
                           (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]], 1)


def resize_transform(ratio: float) -> np.ndarray:
    """``[2, 3]`` map from an image's pixels to those of the same image
    resized by ``ratio`` (pixel centres at integers: ``ratio (x + 0.5) - 0.5``)."""
    shift = (ratio - 1) / 2
    return np.array([[ratio, 0.0, shift], [0.0, ratio, shift]])


def alignment_transform(landmarks: np.ndarray, size: int, template: np.ndarray) -> np.ndarray:
    """``[2, 3]`` least-squares scale + shift from photo ``landmarks`` ``[68, 2]``
    onto ``template * size`` (pixel centres at integers)."""
    target = np.asarray(template, np.float64) * size - 0.5
    source = np.asarray(landmarks, np.float64)
    source_c, target_c = source - source.mean(0), target - target.mean(0)
    scale = float((source_c * target_c).sum() / (source_c ** 2).sum())
    shift = target.mean(0) - scale * source.mean(0)
    return np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]]])


def align_face(image_rgb: np.ndarray, landmarks: np.ndarray, size: int,
               template: np.ndarray = None) -> AlignedFace:
    """Crop ``image_rgb`` ``[H, W, 3]`` so ``landmarks`` ``[68, 2]`` sit on the template.

    Pixels outside the photo are filled by replicating its border. A crop
    that shrinks the photo is warped at ``k`` times its size and then area-
    averaged down, so it does not alias.
    """
    template = default_template() if template is None else template
    transform = alignment_transform(landmarks, size, template)
    k = int(min(8, max(1, np.ceil(1.0 / transform[0, 0]))))
    big = compose_transforms(resize_transform(k), transform)
    crop = cv2.warpAffine(image_rgb, big, (size * k, size * k), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    if k > 1:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return AlignedFace(crop, apply_transform(transform, landmarks), transform)
