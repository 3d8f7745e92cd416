"""MediaPipe's face blendshape model: 52 ARKit-named scores from a face mesh.

The third model of MediaPipe's Face Landmarker (``face_blendshapes.tflite``
from the face_landmarker_v2 bundle, Apache-2.0, shipped in
``tfface/assets/mediapipe``): 146 of the face mesh's 478 points (x, y photo
pixels; MediaPipe's ``face_blendshapes_graph.cc``, ``kLandmarksSubsetIdxs``,
irises included) -> scores in 0..1 for ``_neutral`` and 51 ARKit
blendshapes (``eyeBlinkLeft``, ``eyeLookInRight``, ``jawOpen``, ...; no
``tongueOut``). ``Left`` is the subject's left, as in ARKit and as
ICT-FaceKit's ``_L`` (checked on renders of the default model:
``mouthSmile_L`` scores ``mouthSmileLeft``; a gaze painted to the image's
right, the subject's left, scores ``eyeLookOutLeft`` and ``eyeLookInRight``).

The landmark fit takes from them what 68 points cannot see (gaze, cheek
puff and squint, nose sneer; :func:`tfface.fitting.landmarks.landmark_expressions`)
and the eyelids' blendshapes (:data:`tfface.fitting.landmarks.SCORED_EXPRESSIONS`),
named as the model names them (:func:`tfface.arkit.model_blendshape_weights`).
"""

from __future__ import annotations

import os
from typing import Dict, Optional

import numpy as np

from tfface.arkit import ARKIT_NAMES
from tfface.faces.mediapipe import MEDIAPIPE_ASSETS, _interpreter

BLENDSHAPE_MODEL = os.path.join(MEDIAPIPE_ASSETS, "face_blendshapes.tflite")
BLENDSHAPE_LANDMARKS = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63,
    65, 66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133,
    136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163,
    168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270,
    276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317,
    318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379,
    380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454,
    466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477)
"""The mesh points ``[146]`` the model reads, in its order."""
BLENDSHAPE_NAMES = ("_neutral",) + tuple(n for n in ARKIT_NAMES if n != "tongueOut")
"""The model's outputs ``[52]``, in order (``kBlendshapeNames``: ARKit's
alphabetical order, less ``tongueOut``)."""


class FaceBlendshapes:
    """MediaPipe's blendshape model (``threads``: the interpreter's, None for every core)."""

    def __init__(self, threads: Optional[int] = None) -> None:
        self._model = _interpreter(BLENDSHAPE_MODEL, threads)
        self._input = self._model.get_input_details()[0]["index"]
        self._output = self._model.get_output_details()[0]["index"]

    def __call__(self, mesh: np.ndarray) -> Dict[str, float]:
        """Scores by ARKit name (:data:`BLENDSHAPE_NAMES`) of the face with
        face-mesh points ``mesh`` ``[478, 2+]`` (photo pixels).

        Raises:
          ValueError: ``mesh`` is not ``[478, 2+]``.
        """
        mesh = np.asarray(mesh)
        if mesh.ndim != 2 or mesh.shape[0] != 478 or mesh.shape[1] < 2:
            raise ValueError(f"mesh must be [478, 2+] face-mesh points, got {list(mesh.shape)}")
        points = mesh[list(BLENDSHAPE_LANDMARKS), :2].astype(np.float32)[None]
        self._model.set_tensor(self._input, points)
        self._model.invoke()
        scores = self._model.get_tensor(self._output).reshape(-1)
        return {name: float(s) for name, s in zip(BLENDSHAPE_NAMES, scores)}
