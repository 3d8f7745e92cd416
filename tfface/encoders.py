"""CNN encoders: image ``[B, S, S, 3]`` (RGB, 0..255) -> FaceParams ``[B, P]``."""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Dict, Mapping, Optional

import keras
import numpy as np

from tfface import ASSETS
from tfface.encoder_layers import ParameterScale, ResNetPreprocess
from tfface.errors import TfFaceError
from tfface.params import FaceParams
from tfface.runtime import load_encoder

SHIPPED_ENCODERS = {"ict": {"photo": os.path.join(ASSETS, "photo_encoder.keras"),
                            "synthetic": os.path.join(ASSETS, "synthetic_encoder.keras")},
                    "demo": {"synthetic": os.path.join(ASSETS, "demo_encoder.keras")}}
"""The shipped encoders of each built-in model, by name (``--encoder NAME``),
all MobileNetV3-Small at 112 px. ``photo``: the synthetic one fine-tuned on
real photos (``configs/photo_encoder.yaml``; research-use data, see its
model card in the README). ``synthetic``: trained on synthetic faces only
(ICT-FaceKit's: ``configs/synthetic_encoder.yaml``; the demo model's on its
renders), the licence-clean choice."""
DEFAULT_ENCODER_NAMES = {"ict": "photo", "demo": "synthetic"}
"""The shipped encoder used for each built-in model when none is named."""
DEFAULT_ENCODERS = {model: SHIPPED_ENCODERS[model][name]
                    for model, name in DEFAULT_ENCODER_NAMES.items()}
"""The path of each built-in model's default shipped encoder."""


def encoder_file(encoder: Optional[str], model: Optional[str]) -> str:
    """The file of ``encoder``: a shipped encoder's name (:data:`SHIPPED_ENCODERS`)
    for the built-in ``model`` (None: ``ict``), None for its default, or a path.

    Raises:
      TfFaceError: no encoder is shipped for ``model`` by that name.
    """
    builtin = "ict" if model is None else model
    shipped = SHIPPED_ENCODERS.get(builtin, {})
    if encoder is None:
        if builtin not in DEFAULT_ENCODERS:
            raise TfFaceError(f"{model}: no shipped encoder for this model; give --encoder "
                              "trained for it")
        return DEFAULT_ENCODERS[builtin]
    if encoder in shipped:
        return shipped[encoder]
    if not os.path.splitext(encoder)[1] and not os.path.exists(encoder):
        names = ", ".join(shipped) or "none"
        raise TfFaceError(f"--encoder {encoder}: no such file nor shipped encoder of model "
                          f"{builtin} (shipped: {names}); give an encoder file or a name")
    return encoder


@dataclasses.dataclass(frozen=True)
class Backbone:
    """A keras.applications backbone paired with the preprocessing it expects
    (a layer factory, or None when the backbone preprocesses itself), as
    keras-hub pairs a backbone with its preprocessor."""

    constructor: Callable[..., keras.Model]
    preprocessor: Optional[Callable[[], keras.layers.Layer]] = None
    options: Mapping[str, object] = dataclasses.field(default_factory=dict)


BACKBONES: Dict[str, Backbone] = {
    "mobilenet_v3_small": Backbone(keras.applications.MobileNetV3Small,
                                   options={"include_preprocessing": True}),
    "mobilenet_v3_large": Backbone(keras.applications.MobileNetV3Large,
                                   options={"include_preprocessing": True}),
    "resnet50": Backbone(keras.applications.ResNet50,
                         preprocessor=lambda: ResNetPreprocess(name="resnet50_preprocess")),
}
"""Every encoder backbone by name (``model.encoder`` in the configs)."""
GROUP_SCALES: Dict[str, float] = {"translation": 10.0, "rotation": 0.5, "scale": 0.1}
"""Head outputs are multiplied by these per group (1.0 otherwise), so a unit
activation is ~10 mm of translation or ~30 degrees of rotation."""


def group_scales(layout: FaceParams) -> np.ndarray:
    """``[P]`` per-entry output scale: :data:`GROUP_SCALES`, 1.0 elsewhere."""
    scales = np.ones(layout.size, np.float32)
    for group, scale in GROUP_SCALES.items():
        scales[layout.slices[group]] = scale
    return scales


def backbone_of(encoder: keras.Model) -> keras.Model:
    """The backbone network inside an encoder built by :func:`build_encoder`."""
    return next(layer for layer in encoder.layers if isinstance(layer, keras.Model))


def build_encoder(layout: FaceParams, backbone: str = "mobilenet_v3_small",
                  input_size: int = 224, init_weights: Optional[str] = None,
                  batchnorm_momentum: float = 0.99) -> keras.Model:
    """A keras.applications backbone + zero-initialised dense head.

    At initialisation every output is zero: mean face, neutral pose, image
    centre, ambient light. Input: RGB float ``[B, S, S, 3]`` in 0..255.
    ImageNet weights are not downloaded: random init, or ``init_weights`` (a
    local ``.weights.h5`` / ``.keras`` file of the backbone). Batch-norm
    momentum is set to ``batchnorm_momentum`` (MobileNetV3 ships 0.999, too
    slow for the moving statistics of a from-scratch run to settle), and
    batch norm is synchronized across replicas, so a step under
    MirroredStrategy equals the same global batch on one device.
    """
    if backbone not in BACKBONES:
        raise TfFaceError(f"encoder '{backbone}' unknown; use one of {sorted(BACKBONES)}")
    spec = BACKBONES[backbone]
    image = keras.Input((input_size, input_size, 3), name="image")
    x = image if spec.preprocessor is None else spec.preprocessor()(image)
    net = spec.constructor(input_shape=(input_size, input_size, 3), include_top=False,
                           weights=None, pooling="avg", **spec.options)
    if init_weights is not None:
        try:
            net.load_weights(init_weights)
        except (OSError, ValueError) as error:
            raise TfFaceError(f"{init_weights}: cannot load backbone weights ({error}); give "
                              f"a weights file saved from keras.applications.{backbone}") from None
    for layer in net.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = batchnorm_momentum
            layer.synchronized = True  # batch statistics over all replicas
    x = net(x)
    x = keras.layers.Dense(layout.size, kernel_initializer="zeros", name="params_head")(x)
    params = ParameterScale(group_scales(layout).tolist(), name="params")(x)
    return keras.Model(image, params, name=f"encoder_{backbone}_{input_size}")


def start_from(encoder: keras.Model, path: str) -> None:
    """Set ``encoder``'s weights to those of the trained encoder ``.keras`` at
    ``path`` (fine-tuning). It must have the same backbone and parameter
    layout (morphable model), else a one-line :class:`TfFaceError`; the
    input size may differ (the backbone's weights do not depend on it)."""
    if not path.lower().endswith(".keras"):
        raise TfFaceError(f"{path}: fine-tuning starts from a .keras encoder (train.py's "
                          "encoder.keras), not an exported one")
    trained = load_encoder(path)
    shapes = [tuple(w.shape) for w in encoder.weights]
    if [tuple(w.shape) for w in trained.model.weights] != shapes:
        raise TfFaceError(f"{path}: its weights do not fit this config's encoder (a "
                          f"{trained.model.name} with {trained.model.output_shape[-1]} params, "
                          f"the config's a {encoder.name} with {encoder.output_shape[-1]}); give "
                          "one trained for the same morphable model and backbone")
    encoder.set_weights(trained.model.get_weights())
