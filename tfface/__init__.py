"""tfface: one photo of a face -> a 3D morphable-model face, in TensorFlow/Keras.

The public API, MediaPipe-like::

    import tfface
    faces = tfface.FaceReconstructor().reconstruct(tfface.read_image("photo.jpg"))

Names are imported on first use (PEP 562), so ``import tfface`` alone does
not start TensorFlow.
"""

import importlib
import os

__version__ = "0.1.0"

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
"""The files shipped in the package: the default model and encoders,
MediaPipe's models, their licences."""

_EXPORTS = {
    "FaceReconstructor": "tfface.inference.reconstruct",
    "FaceReconstruction": "tfface.inference.reconstruct",
    "read_image": "tfface.faces.image_io",
    "load_model": "tfface.morphable",
    "MorphableModel": "tfface.morphable.model",
    "make_landmarker": "tfface.faces.landmarks",
    "DetectedFace": "tfface.faces.landmarks",
    "TfFaceError": "tfface.errors",
}
"""Public name -> the module that defines it."""

__all__ = ["ASSETS", "__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tfface' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__():
    return sorted(__all__)
