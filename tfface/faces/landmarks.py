"""Face detection and 68 iBUG landmarks with dlib, offline.

dlib's HOG frontal-face detector finds faces; the 68-point shape predictor
shipped by the ``face_recognition_models`` package places the landmarks
(that predictor was trained on iBUG 300-W, which is licensed for
non-commercial use only). Both come from ``pip install "tfface[landmarks]"``;
nothing is downloaded at run time.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional

import cv2
import numpy as np

from tfface.errors import TfFaceError

INSTALL_HINT = 'pip install "tfface[landmarks]" (dlib-bin + face_recognition_models)'


@dataclasses.dataclass
class DetectedFace:
    """One face: ``box`` ``[4]`` (x0, y0, x1, y1), ``landmarks`` ``[68, 2]``
    photo pixels, detector ``score``, and ``problem`` (None, or a reason the
    face should not be used: ``face_too_small``, ``face_partly_outside``)."""

    box: np.ndarray
    landmarks: np.ndarray
    score: float
    problem: Optional[str] = None


class FaceLandmarker:
    """Detect faces and their 68 landmarks in RGB photos.

    Args:
      min_face: faces whose box is narrower than this many pixels are
        flagged ``face_too_small``.
      max_outside: fraction of landmarks allowed outside the image before a
        face is flagged ``face_partly_outside``.
      detect_side: photos are downscaled to at most this longest side for
        detection (landmarks are placed on the full-resolution photo).
    """

    def __init__(self, min_face: int = 40, max_outside: float = 0.1,
                 detect_side: int = 1280) -> None:
        try:
            import dlib
            import face_recognition_models
        except ImportError:
            raise TfFaceError(f"face detection needs optional packages: {INSTALL_HINT}; or give "
                              "68 landmarks as a .pts file beside the photo") from None
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(
            face_recognition_models.pose_predictor_model_location())
        self._rectangle = dlib.rectangle
        self.min_face, self.max_outside, self.detect_side = min_face, max_outside, detect_side

    def __call__(self, image_rgb: np.ndarray) -> List[DetectedFace]:
        """All faces in a uint8 RGB photo ``[H, W, 3]``, best score first."""
        height, width = image_rgb.shape[:2]
        ratio = min(1.0, self.detect_side / max(height, width))
        small = image_rgb if ratio == 1.0 else cv2.resize(
            image_rgb, (round(width * ratio), round(height * ratio)), interpolation=cv2.INTER_AREA)
        upsample = 1 if max(small.shape[:2]) < 800 else 0  # finds faces down to ~40 px
        rects, scores, _ = self._detector.run(small, upsample, 0.0)
        faces = []
        for rect, score in sorted(zip(rects, scores), key=lambda pair: -pair[1]):
            box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()]) / ratio
            points = self.landmarks_in_box(image_rgb, box)
            faces.append(DetectedFace(box, points, float(score), self._problem(box, points,
                                                                                width, height)))
        return faces

    def landmarks_in_box(self, image_rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The 68 landmarks ``[68, 2]`` of the face in ``box`` ``[4]`` (x0, y0, x1, y1)."""
        shape = self._predictor(image_rgb, self._rectangle(*(int(round(v)) for v in box)))
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64)

    def _problem(self, box: np.ndarray, points: np.ndarray, width: int,
                 height: int) -> Optional[str]:
        if box[2] - box[0] < self.min_face:
            return "face_too_small"
        outside = ((points < 0) | (points > [width - 1, height - 1])).any(axis=1).mean()
        if outside > self.max_outside:
            return "face_partly_outside"
        return None
