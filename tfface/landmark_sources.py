"""Landmark sources, and what each one's jaw points mark.

Names only, no imports: configs and the command line validate against them
before OpenCV, LiteRT or TensorFlow load.
"""

LANDMARKERS = ("mediapipe", "dlib")
"""The landmarkers of :mod:`tfface.faces.landmarks` (``--landmarker``)."""
JAW_MODES = ("contour", "outline", "fixed")
"""What a source's 16 jaw points (all but the chin) mark, for the landmark fit
(:mod:`tfface.fitting.landmarks`): the visible outline of this photo
(``contour``: dlib, 300-W), a frontal face's outline carried on the head,
hidden or not (``outline``: AFLW2000-3D, LS3D-W), or the model's own jaw
vertices (``fixed``: MediaPipe's face oval, points rendered from the model)."""
DEFAULT_JAW = {"pts": "contour", "mediapipe": "fixed", "dlib": "contour"}
"""The jaw mode of each landmark source unless told otherwise: annotation
files (``.pts``: 300-W's visible outline) and the landmarkers."""
