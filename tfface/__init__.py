"""tfface: one photo of a face -> a 3D morphable-model face, in TensorFlow/Keras."""

import os

__version__ = "0.1.0"

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
"""The files shipped in the package: the default model and encoders,
MediaPipe's models, their licences."""
