"""Face detection and 68 iBUG landmarks, offline: two landmarkers, one API.

* :class:`MediaPipeLandmarker` (the default, ``--landmarker mediapipe``):
  MediaPipe's BlazeFace detector and face mesh v2 (Apache-2.0, shipped in
  the package; :mod:`tfface.faces.mediapipe`), the 68 points taken from the
  478 by :mod:`tfface.faces.mesh_map`. Follows faces to large yaw.
* :class:`DlibLandmarker` (``--landmarker dlib``): dlib's HOG frontal-face
  detector and the 68-point predictor of ``face_recognition_models``
  (trained on iBUG 300-W, licensed for non-commercial use only), from
  ``pip install "tfface[landmarks]"``. Frontal faces only.

Both (:class:`Landmarker`) return :class:`DetectedFace` lists from
``landmarker(image_rgb)`` and have ``face_in_box(image_rgb, box)`` (the face
in a given box, flagged as a detection would be) and
``landmarks_in_box(image_rgb, box)``. Nothing is downloaded at run time.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

import cv2
import numpy as np

from tfface.blas import one_blas_thread
from tfface.errors import TfFaceError
from tfface.faces.blendshapes import FaceBlendshapes
from tfface.faces.mediapipe import (FINE_MIN_PRESENCE, AveragedMesh, BlazeFaceDetector, FaceMesh,
                                    eye_aligned_crop, mesh_crop, overlaps)
from tfface.faces.mesh_map import flip_confidence, ibug68
from tfface.landmark_sources import LANDMARKERS

INSTALL_HINT = 'pip install "tfface[landmarks]" (dlib-bin + face_recognition_models)'


PROBLEMS = {
    "face_too_small": "narrower than the smallest face the landmarks are good for",
    "face_partly_outside": "partly outside the photo",
    "face_unconfirmed": "the detector fired but the face mesh sees no face there: a face turned "
                        "more than about 60 degrees, hidden, or not a face",
}
"""Why a detected face is not used, by the name its ``problem`` carries."""


@dataclasses.dataclass
class DetectedFace:
    """One face: ``box`` ``[4]`` (x0, y0, x1, y1), ``landmarks`` ``[68, 2]``
    photo pixels, detector ``score``, and ``problem`` (None, or a reason the
    face should not be used, one of :data:`PROBLEMS`)."""

    box: np.ndarray
    landmarks: np.ndarray
    score: float
    problem: Optional[str] = None
    mesh: Optional[np.ndarray] = None
    """MediaPipe's 478 points ``[478, 3]`` when that landmarker found the face."""
    blendshapes: Optional[Dict[str, float]] = None
    """MediaPipe's 52 ARKit-named blendshape scores (0..1) of ``mesh``
    (:mod:`tfface.faces.blendshapes`) when that landmarker found the face."""
    confidence: Optional[np.ndarray] = None
    """The landmark fit's per-point confidence ``[68]`` in ``landmarks`` when
    the landmarker gives one (MediaPipe's: :func:`tfface.faces.mesh_map.flip_confidence`)."""

    @property
    def depth(self) -> Optional[np.ndarray]:
        """Depth ``[68]`` of ``landmarks`` (photo pixels, larger farther from
        the camera) from ``mesh``; None without one."""
        return None if self.mesh is None else ibug68(self.mesh, columns=3)[:, 2]


def make_landmarker(name: str = "mediapipe", threads: Optional[int] = None,
                    **kwargs) -> Landmarker:
    """The landmarker called ``name`` (:data:`LANDMARKERS`), using at most
    ``threads`` CPU threads (None: every core; dlib's uses one)."""
    if name not in LANDMARKERS:
        raise TfFaceError(f"--landmarker {name}: unknown; use one of {', '.join(LANDMARKERS)}")
    if name == "mediapipe":
        return MediaPipeLandmarker(threads=threads, **kwargs)
    return DlibLandmarker(**kwargs)


class Landmarker:
    """What both landmarkers share: subclasses give ``__call__`` (every face
    in a photo) and ``face_in_box``; ``min_face`` and ``max_outside`` as
    :class:`DlibLandmarker`'s."""

    min_face: int
    max_outside: float

    def landmarks_in_box(self, image_rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The 68 landmarks ``[68, 2]`` of ``face_in_box``."""
        return self.face_in_box(image_rgb, box).landmarks

    def _checked(self, image_rgb: np.ndarray, box: np.ndarray, face: DetectedFace
                 ) -> DetectedFace:
        """``face`` found in ``box`` ``[4]``, its ``problem`` set when the box
        is narrower than ``min_face`` or more than ``max_outside`` of its
        landmarks fall outside the photo (else left as it is)."""
        height, width = image_rgb.shape[:2]
        outside = ((face.landmarks < 0) | (face.landmarks > [width - 1, height - 1])).any(
            axis=1).mean()
        if box[2] - box[0] < self.min_face:
            face.problem = "face_too_small"
        elif outside > self.max_outside:
            face.problem = "face_partly_outside"
        return face


class MediaPipeLandmarker(Landmarker):
    """Detect faces and their 68 landmarks with MediaPipe's models.

    Args:
      min_face, max_outside: as :class:`DlibLandmarker`.
      min_presence: the face mesh's face-presence score below which a
        detection is flagged ``face_unconfirmed`` (MediaPipe's own rule).
      threads: CPU threads of the detector and the face mesh (None: every
        core; 1080p detection 0.19 s on one, 0.12 s on two).
    """

    def __init__(self, min_face: int = 40, max_outside: float = 0.1,
                 min_presence: float = 0.5, threads: Optional[int] = None) -> None:
        self.detector, self.mesh = BlazeFaceDetector(threads=threads), FaceMesh(threads)
        self.blendshapes = FaceBlendshapes(threads)
        self.min_face, self.max_outside, self.min_presence = min_face, max_outside, min_presence

    @one_blas_thread
    def __call__(self, image_rgb: np.ndarray) -> List[DetectedFace]:
        """All detections in a uint8 RGB photo ``[H, W, 3]``, best score
        first; those not to use carry a ``problem``."""
        return distinct_faces([self._checked(image_rgb, d.box, self._face(
            image_rgb, self._crops(d.box, d.keypoints[:2]), d.score,
            max(self.min_presence, FINE_MIN_PRESENCE) if d.fine else self.min_presence))
            for d in self.detector(image_rgb)])

    @one_blas_thread
    def track(self, image_rgb: np.ndarray, previous: DetectedFace) -> Optional[DetectedFace]:
        """The face of ``previous`` (a result of this landmarker) in the next
        video frame, cropped from its last mesh; None when the track is lost."""
        face = self._face(image_rgb, [mesh_crop(previous.mesh)], previous.score,
                          self.min_presence)
        return face if face.problem is None else None

    @one_blas_thread
    def face_in_box(self, image_rgb: np.ndarray, box: np.ndarray,
                    score: float = 1.0) -> DetectedFace:
        """The face in ``box`` ``[4]`` (x0, y0, x1, y1; carrying ``score``),
        cropped as a detection of that box would be: levelled by the eye
        keypoints of the detection that overlaps it most (found near the
        box), else upright; its ``problem`` as :meth:`__call__` would report
        it (``face_unconfirmed`` where the face mesh sees no face)."""
        box = np.asarray(box, np.float64)
        return self._checked(image_rgb, box, self._face(
            image_rgb, self._crops(box, self._eyes_near(image_rgb, box)), score,
            self.min_presence))

    def _eyes_near(self, image_rgb: np.ndarray, box: np.ndarray,
                   min_overlap: float = 0.3) -> Optional[np.ndarray]:
        """The eye keypoints ``[2, 2]`` of the detection in a window of twice
        ``box`` that overlaps ``box`` most (IoU above ``min_overlap``), or None."""
        height, width = image_rgb.shape[:2]
        centre, side = (box[:2] + box[2:]) / 2, max(box[2] - box[0], box[3] - box[1])
        x0, y0 = np.clip(np.floor(centre - side), 0, None).astype(int)
        x1, y1 = np.ceil(centre + side).astype(int)
        detections = self.detector(image_rgb[y0:min(y1, height), x0:min(x1, width)])
        if not detections:
            return None
        corner = np.array([x0, y0], np.float64)
        boxes = np.array([d.box for d in detections]) + np.tile(corner, 2)
        overlap = overlaps(box, boxes)[0]
        best = int(np.argmax(overlap))
        return detections[best].keypoints[:2] + corner if overlap[best] > min_overlap else None

    @staticmethod
    def _crops(box: np.ndarray, eyes=None) -> List[np.ndarray]:
        """Crops to try for a face box: levelled by the detector's eye
        keypoints (when given), then upright (eye keypoints of profiles are
        unreliable)."""
        centre = (box[:2] + box[2:]) / 2
        upright = eye_aligned_crop(box, centre - [1, 0], centre + [1, 0])
        return ([eye_aligned_crop(box, *eyes)] if eyes is not None else []) + [upright]

    def _face(self, image_rgb: np.ndarray, crops: List[np.ndarray], score: float,
              min_presence: float) -> DetectedFace:
        """The face in the first of ``crops`` where the face mesh sees one
        (a presence score of ``min_presence`` in its first pass or in the
        second, averaged one (:meth:`FaceMesh.averaged`) cropped from its
        own first mesh), with the second pass's points; when none does, the
        last crop's, flagged ``face_unconfirmed``."""
        for crop in crops:
            first, presence = self.mesh(image_rgb, crop)
            second = self.mesh.averaged(image_rgb, mesh_crop(first))
            if max(presence, second.presence) >= min_presence:
                return self._mesh_face(second, score)
        return self._mesh_face(second, score, "face_unconfirmed")

    def _mesh_face(self, mesh: AveragedMesh, score: float,
                   problem: Optional[str] = None) -> DetectedFace:
        """A :class:`DetectedFace` of an averaged ``mesh``
        (:meth:`FaceMesh.averaged`), with its blendshapes and per-point
        confidence."""
        points = mesh.points
        box = np.concatenate([points[:, :2].min(0), points[:, :2].max(0)])
        return DetectedFace(box, ibug68(points), score, problem, mesh=points,
                            blendshapes=self.blendshapes(points),
                            confidence=flip_confidence(mesh.difference))


def distinct_faces(faces: List[DetectedFace]) -> List[DetectedFace]:
    """``faces`` (best score first) less those whose box centre lies inside
    the box of a face kept before them: two detections of one face. The
    detector's suppression compares its own boxes, which for a face rolled
    far from upright (a sideways photo) can miss each other while the meshes
    cropped from them land on the same face, offset. Usable faces are kept
    before flagged ones; the result is in score order."""
    kept: List[DetectedFace] = []
    for face in sorted(faces, key=lambda f: (f.problem is not None, -f.score)):
        centre = (face.box[:2] + face.box[2:]) / 2
        if not any(np.all((k.box[:2] <= centre) & (centre <= k.box[2:])) for k in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: -f.score)


class DlibLandmarker(Landmarker):
    """Detect faces and their 68 landmarks in RGB photos with dlib.

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
        return [self.face_in_box(image_rgb, np.array([r.left(), r.top(), r.right(), r.bottom()])
                                 / ratio, float(score))
                for r, score in sorted(zip(rects, scores), key=lambda pair: -pair[1])]

    def face_in_box(self, image_rgb: np.ndarray, box: np.ndarray,
                    score: float = 1.0) -> DetectedFace:
        """The face in ``box`` ``[4]`` (x0, y0, x1, y1; carrying ``score``):
        the predictor's 68 points, and the size and outside checks of
        :meth:`__call__`."""
        box = np.asarray(box, np.float64)
        shape = self._predictor(image_rgb, self._rectangle(*(int(round(v)) for v in box)))
        points = np.array([[p.x, p.y] for p in shape.parts()], np.float64)
        return self._checked(image_rgb, box, DetectedFace(box, points, score))
