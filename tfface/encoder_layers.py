"""The encoder's own Keras layers, registered for ``.keras`` loading: a
module of their own, so loading an encoder file (:mod:`tfface.runtime`)
needs none of the code that builds encoders."""

from __future__ import annotations

import keras
import numpy as np

from tfface.layers.serialization import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class ResNetPreprocess(keras.layers.Layer):
    """``keras.applications.resnet50.preprocess_input`` as a saveable layer
    (RGB 0..255 -> BGR minus the ImageNet mean)."""

    def call(self, x):
        return keras.applications.resnet50.preprocess_input(x)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ParameterScale(keras.layers.Layer):
    """Multiplies ``[B, P]`` by a fixed per-entry scale ``[P]``."""

    def __init__(self, scales, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scales = [float(s) for s in scales]

    def call(self, x):
        return x * np.asarray(self.scales, np.float32)

    def get_config(self):
        return {**super().get_config(), "scales": self.scales}
