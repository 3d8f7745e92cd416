"""FaceReconstructor: photo -> faces (params, mesh, landmarks, pose), ready to save.

photo -> 68 landmarks (given, a ``.pts`` file, or a landmarker: MediaPipe or dlib) ->
alignment onto the mean-face template -> encoder -> FaceParams -> landmark
fit (pose, identity, expression; contour-aware jaw) -> (optional
photometric fitting) -> decoded mesh, colours, landmarks mapped back to the
photo, head pose.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from tfface.arkit import arkit_weights
from tfface.encoders import encoder_file
from tfface.errors import ModelFileError, TfFaceError
from tfface.face_loss import encoder_loss
from tfface.faces.align import LEVEL_BEYOND_DEGREES, AlignedFace, align_face, mean_face_template
from tfface.faces.landmarks import DetectedFace
from tfface.fitting.landmarks import LandmarkFitter
from tfface.landmark_sources import DEFAULT_JAW
from tfface.params import ROTATION_ORDER
from tfface.pinhole import euler_matrix, wrap_angles

OVERLAY_SIZE = 512
"""Faces are rendered at this size for overlays (and texture visibility),
then warped onto the photo."""
LARGE_OVERLAY_SIZE = 1024
"""The overlay render size of a face whose crop spans more than 1.5 x
:data:`OVERLAY_SIZE` photo pixels (a phone portrait), so that its overlay is
not upscaled blur (a 3000 px crop: 2.9x instead of 5.9x)."""
EDGE_MARGIN = 0.01
"""Fraction of the photo's shorter side within which a landmark counts as at
its edge (:attr:`FaceReconstruction.points_at_edge`)."""


@dataclasses.dataclass
class FaceReconstruction:
    """One reconstructed face. Shapes: V vertices, P params.

    ``params`` ``[P]`` and ``groups`` (FaceParams groups by name);
    ``expressions``: expression weights by blendshape name (when the model
    names them, e.g. ARKit-style names for ICT-FaceKit; ``expression_0..``
    else; ``params.json`` adds them under ARKit's own names as
    ``arkit_blendshapes``, :func:`tfface.arkit.arkit_weights`);
    ``vertices`` ``[V, 3]`` posed, in the renderer's camera frame (model
    units; x right, y up, z toward the camera); ``albedo`` and ``colors``
    ``[V, 3]`` (0..1, unlit and lit); ``landmarks2d`` ``[68, 2]`` photo pixels;
    ``landmarks3d`` ``[68, 3]`` (like ``vertices``), both at
    ``landmark_vertices`` ``[68]`` (the vertex ids the landmark fit matched to
    the input landmarks; the model's own without it); ``pose``: pitch, yaw,
    roll in degrees (R = Rz(roll) Ry(yaw) Rx(pitch)); ``aligned``: the crop
    and its transform; ``quality``: mean distance between the model's and
    the input landmarks over the outer-eye-corner distance (lower is better;
    ~0.05 is a good fit); ``fit``: loss terms before/after fitting, if run;
    ``landmark_source``: where the input landmarks came from, when known.
    """

    params: np.ndarray
    groups: Dict[str, np.ndarray]
    expressions: Dict[str, float]
    vertices: np.ndarray
    albedo: np.ndarray
    colors: np.ndarray
    landmarks2d: np.ndarray
    landmarks3d: np.ndarray
    pose: Dict[str, float]
    aligned: AlignedFace
    input_landmarks: np.ndarray
    quality: float
    fit: Optional[Dict[str, Dict[str, float]]] = None
    landmark_source: Optional[str] = None
    landmark_vertices: Optional[np.ndarray] = None

    @property
    def points_at_edge(self) -> int:
        """How many input landmarks lie within :data:`EDGE_MARGIN` of the
        photo's border or beyond it: a face the frame cuts off (a chin below
        the edge) fits its visible points well and still is not whole."""
        width, height = self.aligned.photo_size
        if not width:
            return 0
        margin = max(EDGE_MARGIN * min(width, height), 1.0)
        x, y = np.asarray(self.input_landmarks, np.float64).T
        return int(np.sum((x < margin - 0.5) | (y < margin - 0.5) |
                          (x > width - 0.5 - margin) | (y > height - 0.5 - margin)))

    def to_json(self) -> Dict:
        """The ``params.json`` document (plain lists and floats)."""
        doc = {"params": {k: v.tolist() for k, v in self.groups.items()},
               "expressions": self.expressions, "pose_degrees": self.pose,
               "landmarks2d": self.landmarks2d.tolist(),
               "landmarks3d": self.landmarks3d.tolist(),
               "crop_transform": self.aligned.transform.tolist(),
               "quality": self.quality, "points_at_edge": self.points_at_edge}
        arkit = arkit_weights(self.expressions)
        if arkit:  # a model with ARKit-style blendshapes: ARKit's own names too
            doc["arkit_blendshapes"] = arkit
        if self.fit is not None:
            doc["fit"] = self.fit
        if self.landmark_source is not None:
            doc["landmark_source"] = self.landmark_source
        return doc


class FaceReconstructor:
    """Photos -> :class:`FaceReconstruction` per face.

    Args:
      encoder: ``.keras``/``.tflite``/``.onnx``/SavedModel path, the name
        of a shipped encoder of a built-in model
        (:data:`tfface.encoders.SHIPPED_ENCODERS`, e.g. ``synthetic``), or
        None for its default one.
      model: morphable model ``.npz`` or a built-in name (``ict``, ``demo``);
        None = the shipped ICT-FaceKit model.
      landmarker: ``mediapipe`` (default) or ``dlib``, for photos without
        given landmarks (:mod:`tfface.faces.landmarks`).
    """

    def __init__(self, encoder: Optional[str] = None, model: Optional[str] = None,
                 landmarker: str = "mediapipe") -> None:
        from tfface.layers import Renderer
        from tfface.morphable import load_model
        from tfface.params import FaceParams
        from tfface.runtime import load_encoder
        self.model = load_model(model)
        self.encoder_path = encoder_file(encoder, model)
        self.encoder = load_encoder(self.encoder_path)
        self.face_loss = encoder_loss(self.encoder_path)
        self.layout = FaceParams.from_model(self.model)
        size = self.encoder.input_size
        self.renderer = Renderer.from_model(self.model, (size, size))
        self.template = mean_face_template(self.model, self.renderer.camera.pinhole)
        self.landmark_fitter = LandmarkFitter(self.model, self.renderer.camera, self.face_loss)
        self._overlay_renderers: Dict[int, Renderer] = {}
        self.landmarker_name = landmarker
        self._landmarker = None
        probe = self.encoder.predict(np.zeros((1, size, size, 3), np.float32))
        if probe.shape[-1] != self.layout.size:
            raise ModelFileError(f"{self.encoder_path}: outputs {probe.shape[-1]} params but model "
                              f"{self.model.name} needs {self.layout.size}; use the encoder "
                              "trained with this model")

    @property
    def size(self) -> int:
        return self.encoder.input_size

    @functools.cached_property
    def photometric_fitter(self):
        """The ``--fit`` stage, compiled once and reused for every photo or frame."""
        from tfface.fitting import PhotometricFitter
        return PhotometricFitter(self.renderer, face_loss=self.face_loss)

    @property
    def overlay_renderer(self):
        """The model rendered at :data:`OVERLAY_SIZE` (same view as the crop)."""
        return self._renderer_at(OVERLAY_SIZE)

    def overlay_renderer_for(self, face: FaceReconstruction):
        """The renderer of ``face``'s overlay: :data:`LARGE_OVERLAY_SIZE` when
        its crop spans more than 1.5 x :data:`OVERLAY_SIZE` photo pixels,
        else :attr:`overlay_renderer`."""
        span = self.size * np.linalg.norm(face.aligned.inverse[:, 0])
        return self._renderer_at(LARGE_OVERLAY_SIZE if span > 1.5 * OVERLAY_SIZE
                                 else OVERLAY_SIZE)

    def _renderer_at(self, size: int):
        """The model rendered at ``size`` x ``size`` (same view as the crop), built once."""
        from tfface.layers import Renderer
        if size not in self._overlay_renderers:
            self._overlay_renderers[size] = Renderer.from_model(self.model, (size, size))
        return self._overlay_renderers[size]

    @property
    def landmarker(self):
        """The face landmarker (made on first use)."""
        if self._landmarker is None:
            from tfface.faces.landmarks import make_landmarker
            self._landmarker = make_landmarker(self.landmarker_name)
        return self._landmarker

    @property
    def findable_face(self) -> str:
        """What a face must be for this landmarker to find it, for error
        messages: "face of at least 40 px turned less than about 60 degrees"
        (dlib's: "frontal face of at least 40 px")."""
        face = f"face of at least {self.landmarker.min_face} px"
        return f"frontal {face}" if self.landmarker_name == "dlib" else \
            f"{face} turned less than about 60 degrees"

    @property
    def detector_jaw(self) -> str:
        """The landmark fit's jaw mode for this landmarker's points: MediaPipe's
        68-point map sits on the model's own jaw vertices (``fixed``), dlib's
        on the visible outline (``contour``)."""
        return DEFAULT_JAW[self.landmarker_name]

    @property
    def detector_confidence(self) -> Optional[np.ndarray]:
        """The landmark fit's default per-point confidence ``[68]`` for this
        landmarker's points (a face's own, :attr:`DetectedFace.confidence`,
        comes first): MediaPipe's map trusts its jaw less
        (:data:`tfface.faces.mesh_map.POINT_CONFIDENCE`); dlib: None (all 1)."""
        if self.landmarker_name != "mediapipe":
            return None
        from tfface.faces.mesh_map import POINT_CONFIDENCE
        return POINT_CONFIDENCE

    def find_faces(self, image_rgb: np.ndarray) -> List[DetectedFace]:
        """Every usable face the landmarker finds (68 landmarks, and with
        MediaPipe's the mesh and blendshape scores)."""
        return [f for f in self.landmarker(image_rgb) if f.problem is None]

    def reconstruct(self, image_rgb: np.ndarray,
                    landmarks: Optional[Sequence[np.ndarray]] = None,
                    fit_steps: int = 0, landmark_fit: bool = True,
                    jaw: Optional[str] = None,
                    detected: bool = False,
                    blendshapes: Optional[Sequence[Optional[Mapping[str, float]]]] = None,
                    confidence: Optional[Sequence[Optional[np.ndarray]]] = None,
                    depth: Optional[Sequence[Optional[np.ndarray]]] = None
                    ) -> List[FaceReconstruction]:
        """Faces in a uint8 RGB photo ``[H, W, 3]``; ``landmarks``: a list of
        ``[68, 2]`` (photo pixels), else the detector finds them
        (:meth:`reconstruct_detected`). ``blendshapes``: per face,
        ARKit-named scores (MediaPipe's), which give the landmark fit the
        expressions 68 points cannot see and the eyelids'; None per face or
        for all: those keep the encoder's values. ``confidence``: per face,
        the landmark fit's per-point confidence ``[68]`` (a
        :class:`DetectedFace`'s); None per face or for all: the defaults
        below. ``depth``: per face, the landmarks' depth ``[68]`` (photo
        pixels, a :class:`DetectedFace`'s), which the landmark fit's head
        rotation also follows; None per face or for all: none. Empty when
        no face is
        found. The encoder's output is refined by the landmark fit
        (``landmark_fit``; ``jaw``: what the jaw points mark,
        :data:`tfface.landmark_sources.JAW_MODES`), then, with
        ``fit_steps`` > 0, by photometric fitting (keeping what
        :meth:`tfface.fitting.LandmarkFitter.kept_entries` says). ``detected``: the
        landmarks come from :attr:`landmarker`, so the fit takes its jaw
        mode (:attr:`detector_jaw`, unless ``jaw`` is given) and per-point
        confidence
        (:attr:`detector_confidence`); other landmarks (a ``.pts`` file) are
        trusted alike, jaw ``contour`` unless ``jaw`` is given."""
        if landmarks is None:
            return self.reconstruct_detected(image_rgb, self.find_faces(image_rgb), fit_steps,
                                             landmark_fit, jaw)
        if jaw is None:
            jaw = self.detector_jaw if detected else DEFAULT_JAW["pts"]
        if not len(landmarks):
            return []
        blendshapes = blendshapes or [None] * len(landmarks)
        default = self.detector_confidence if detected else None
        confidence = [default if c is None else c for c in confidence or [None] * len(landmarks)]
        depth = depth or [None] * len(landmarks)
        aligned = [align_face(image_rgb, np.asarray(lm, np.float64), self.size, self.template,
                              LEVEL_BEYOND_DEGREES) for lm in landmarks]
        crops = np.stack([a.crop for a in aligned]).astype(np.float32)
        params = self.encoder.predict(crops)
        vertex_ids = [None] * len(aligned)
        if landmark_fit:
            fits = [self.landmark_fitter.fit(a.landmarks, p, jaw=jaw, confidence=trust,
                                             blendshapes=scores,
                                             depth=None if z is None else np.asarray(z) * a.scale)
                    for p, a, scores, trust, z in zip(params, aligned, blendshapes, confidence,
                                                      depth)]
            params = np.stack([f.params for f in fits])
            vertex_ids = [f.vertex_ids for f in fits]
        if fit_steps > 0:
            held = np.stack([self.landmark_fitter.kept_entries(scores, f.rotation_held)
                             for scores, f in zip(blendshapes, fits)]) if landmark_fit else None
            result = self.photometric_fitter.fit(
                crops, np.stack([a.landmarks for a in aligned]), init=params, steps=fit_steps,
                landmark_vertices=np.stack(vertex_ids) if landmark_fit else None, held=held)
            params, fit_terms = result.params, result.faces
        else:
            fit_terms = [None] * len(params)
        return [self.describe(p, a, np.asarray(lm), fit, ids)
                for p, a, lm, fit, ids in zip(params, aligned, landmarks, fit_terms, vertex_ids)]

    def reconstruct_detected(self, image_rgb: np.ndarray, faces: Sequence[DetectedFace],
                             fit_steps: int = 0, landmark_fit: bool = True,
                             jaw: Optional[str] = None) -> List[FaceReconstruction]:
        """:meth:`reconstruct` of ``faces`` the :attr:`landmarker` found in
        ``image_rgb``: their landmarks (``detected``) and, MediaPipe's, their
        blendshape scores, per-point confidence and depth."""
        return self.reconstruct(image_rgb, [f.landmarks for f in faces], fit_steps, landmark_fit,
                                jaw, detected=True, blendshapes=[f.blendshapes for f in faces],
                                confidence=[f.confidence for f in faces],
                                depth=[f.depth for f in faces])

    def describe(self, params: np.ndarray, aligned: AlignedFace, landmarks: np.ndarray,
                 fit: Optional[Dict] = None,
                 landmark_vertices: Optional[np.ndarray] = None) -> FaceReconstruction:
        """Decode params ``[P]`` of the face aligned by ``aligned`` (input
        ``landmarks`` ``[68, 2]``, photo pixels) into a reconstruction, its
        landmarks at ``landmark_vertices`` ``[68]`` (a landmark fit's
        ``vertex_ids``; default the model's landmark vertices)."""
        out = {k: v.numpy()[0] for k, v in self.renderer.compute_for_render(params[None]).items()}
        groups = self.layout.split_numpy(params)
        ids = self.model.landmark_indices if landmark_vertices is None else landmark_vertices
        landmarks2d = aligned.to_photo(out["pixels"][ids])
        names = self.layout.expression_names or tuple(
            f"expression_{i}" for i in range(self.layout.expression))
        eyes = np.linalg.norm(landmarks[36] - landmarks[45])
        in_photo = self.layout.split_numpy(self.layout.rolled(params, aligned.roll))["rotation"]
        # a levelled crop's camera is the photo's turned about its view axis
        to_photo_frame = euler_matrix([0.0, 0.0, aligned.roll]).T.astype(np.float32)
        return FaceReconstruction(
            params=params, groups=groups,
            expressions={n: float(w) for n, w in zip(names, groups["expression"])},
            vertices=out["vertices"] @ to_photo_frame, albedo=out["albedo"], colors=out["colors"],
            landmarks2d=landmarks2d, landmarks3d=out["vertices"][ids] @ to_photo_frame,
            pose={name: float(angle) for name, angle in
                  zip(ROTATION_ORDER, np.degrees(wrap_angles(in_photo)))},
            aligned=aligned, input_landmarks=landmarks,
            quality=float(np.linalg.norm(landmarks2d - landmarks, axis=1).mean() / eyes), fit=fit,
            landmark_vertices=landmark_vertices)
