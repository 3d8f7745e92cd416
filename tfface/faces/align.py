"""Alignment: a scale + shift that puts 68 landmarks onto the mean-face template.

The template is where the morphable model's mean face, neutral pose, lands
in the renderer's image, so an aligned photo crop looks like what the
encoder saw in training. No in-plane rotation is removed (as in
Deep3DFaceRecon), so the head pose in the crop is the pose in the photo,
except for faces rolled beyond ``level_beyond`` degrees (further than the
encoder's training faces): their crop is levelled, and
:attr:`AlignedFace.roll` says by how much. The inverse transform maps crop
results back to the photo.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Optional, Tuple

import cv2
import numpy as np

from tfface.pinhole import PinholeCamera

LEVEL_BEYOND_DEGREES = 30.0
"""Faces rolled further than this are levelled in the encoder's crop
(``tfface reconstruct``): the shipped encoders were trained on rolls of up
to 20 degrees (:func:`tfface.data.synthetic.random_params`); params then
hold the pose in the crop, ``FaceReconstruction.pose`` the pose in the photo."""


MIN_LANDMARK_EXTENT = 1.0
"""Pixels a point set must span in x and in y to be a face's."""


def landmark_problem(points: np.ndarray, count: int = 68) -> Optional[str]:
    """What makes ``points`` unusable as a face's landmarks, or None.

    The one check of every point set tfface reads (``.pts`` files, arrays
    passed to the aligner): shape ``[count, 2]``, finite, and spread over at
    least :data:`MIN_LANDMARK_EXTENT` px in x and in y (points all at one
    place or on one line outline no face)."""
    points = np.asarray(points)
    if points.shape != (count, 2):
        return f"shape {list(points.shape)}, expected [{count}, 2]"
    if not np.all(np.isfinite(points)):
        return "NaN or infinite coordinates; fill in missing landmarks"
    extent = points.max(0) - points.min(0)
    if np.any(extent < MIN_LANDMARK_EXTENT):
        return (f"all within {extent.max():.3g} x {extent.min():.3g} px; a face's landmarks "
                "spread over it (annotate the face's points)")
    return None


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
    pixels), ``transform`` ``[2, 3]`` (photo -> crop pixels) and ``roll``:
    the in-plane rotation (radians, about the camera's view axis, tfface's
    roll sign) that levelling took out of the crop, 0 when not levelled: a
    head pose found in the crop has roll ``roll`` less than in the photo.
    ``photo_size``: the photo's (width, height) in pixels."""

    crop: np.ndarray
    landmarks: np.ndarray
    transform: np.ndarray
    roll: float = 0.0
    photo_size: Tuple[int, int] = (0, 0)

    @property
    def inverse(self) -> np.ndarray:
        """``[2, 3]`` crop -> photo pixels."""
        return cv2.invertAffineTransform(self.transform)

    @property
    def scale(self) -> float:
        """Crop pixels per photo pixel."""
        return float(np.sqrt(abs(np.linalg.det(np.asarray(self.transform)[:, :2]))))

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


def similarity_scale_angle(source: np.ndarray, target: np.ndarray) -> Tuple[float, float]:
    """Scale and angle (radians; turning ``source`` by it, x towards y,
    levels it against ``target``) of the least-squares similarity
    (Umeyama's) from points ``source`` ``[N, 2]`` onto ``target`` ``[N, 2]``."""
    source_c, target_c = source - source.mean(0), target - target.mean(0)
    dot = (source_c * target_c).sum()
    cross = (source_c[:, 0] * target_c[:, 1] - source_c[:, 1] * target_c[:, 0]).sum()
    return float(np.hypot(dot, cross) / (source_c ** 2).sum()), float(np.arctan2(cross, dot))


def alignment_transform(landmarks: np.ndarray, size: int, template: np.ndarray,
                        level: bool = False) -> Tuple[np.ndarray, float]:
    """``[2, 3]`` map from photo ``landmarks`` ``[68, 2]`` onto ``template *
    size`` (pixel centres at integers) and the face's roll against the
    template (radians, tfface's roll sign: counter-clockwise on screen).

    The scale is that of the least-squares similarity (Umeyama's), which
    does not depend on the roll (the least-squares scale of a map without
    rotation shrinks with cos(roll) and turns negative beyond 90 degrees:
    an upside-down crop). The map is scale + shift only, unless ``level``:
    then it also rotates the face upright, about the template's centroid.

    Raises:
      ValueError: ``landmarks`` fail :func:`landmark_problem`.
    """
    target = np.asarray(template, np.float64) * size - 0.5
    source = np.asarray(landmarks, np.float64)
    problem = landmark_problem(source, len(target))
    if problem:
        raise ValueError(f"landmarks: {problem}")
    scale, angle = similarity_scale_angle(source, target)
    c, s = (np.cos(angle), np.sin(angle)) if level else (1.0, 0.0)
    linear = scale * np.array([[c, -s], [s, c]])
    shift = target.mean(0) - linear @ source.mean(0)
    return np.concatenate([linear, shift[:, None]], 1), angle


def align_face(image_rgb: np.ndarray, landmarks: np.ndarray, size: int,
               template: np.ndarray = None, level_beyond: Optional[float] = None
               ) -> AlignedFace:
    """Crop ``image_rgb`` ``[H, W, 3]`` so ``landmarks`` ``[68, 2]`` sit on the template.

    A face rolled further than ``level_beyond`` degrees (None: never) is
    levelled in the crop (:attr:`AlignedFace.roll`). Pixels outside the
    photo are filled by replicating its border. A crop that shrinks the
    photo is warped at ``k`` times its size and then area-averaged down, so
    it does not alias.
    """
    template = default_template() if template is None else template
    transform, angle = alignment_transform(landmarks, size, template)
    level = level_beyond is not None and abs(np.degrees(angle)) > level_beyond
    if level:
        transform, _ = alignment_transform(landmarks, size, template, level=True)
    scale = float(np.hypot(*transform[0, :2]))
    k = int(min(8, max(1, np.ceil(1.0 / scale))))
    big = compose_transforms(resize_transform(k), transform)
    crop = cv2.warpAffine(image_rgb, big, (size * k, size * k), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    if k > 1:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return AlignedFace(crop, apply_transform(transform, landmarks), transform,
                       roll=angle if level else 0.0,
                       photo_size=(int(image_rgb.shape[1]), int(image_rgb.shape[0])))
