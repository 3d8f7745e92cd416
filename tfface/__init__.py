"""tfface: one photo of a face -> a 3D morphable-model face, in TensorFlow/Keras."""

__version__ = "0.1.0"
