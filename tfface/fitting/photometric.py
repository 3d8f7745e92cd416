"""Analysis-by-synthesis: optimise FaceParams of given images through the renderer.

Starting from the encoder's output (or the mean face), the params are
refined with the training losses (landmark, photometric, regularization)
by Adam. Each group is optimised in the units of the encoder's output
scales (:data:`tfface.encoders.GROUP_SCALES`), so a step moves translation
by millimetres and rotation by fractions of a radian alike.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Mapping, Optional

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from tfface.encoders import group_scales
from tfface.layers.renderer import Renderer
from tfface.loss_weights import DEFAULT_LOSS_WEIGHTS, DEFAULT_REGULARIZATION
from tfface.model import face_loss_terms


@dataclasses.dataclass
class FitResult:
    """``params`` ``[B, P]`` after fitting; loss terms before and after."""

    params: np.ndarray
    before: Dict[str, float]
    after: Dict[str, float]


def fit_params(renderer: Renderer, image: np.ndarray, landmarks: np.ndarray,
               init: Optional[np.ndarray] = None, steps: int = 100,
               learning_rate: float = 0.02,
               loss_weights: Optional[Mapping[str, float]] = None,
               regularization: Optional[Mapping[str, float]] = None,
               progress: bool = False) -> FitResult:
    """Fit params ``[B, P]`` to ``image`` ``[B, S, S, 3]`` (0..255, the
    renderer's size) and ``landmarks`` ``[B, 68, 2]`` (pixels) in ``steps``
    Adam steps; ``init`` defaults to the mean face."""
    layout = renderer.layout
    image = tf.constant(image, tf.float32)
    landmarks = tf.constant(landmarks, tf.float32)
    init = layout.zeros(len(image)) if init is None else np.asarray(init, np.float32)
    scales = group_scales(layout)
    offset = tf.Variable(tf.zeros_like(init), name="offset")
    weights = dict(DEFAULT_LOSS_WEIGHTS if loss_weights is None else loss_weights)
    prior = dict(DEFAULT_REGULARIZATION if regularization is None else regularization)
    optimizer = keras.optimizers.Adam(learning_rate)

    def terms() -> Dict[str, tf.Tensor]:
        return face_loss_terms(renderer, init + offset * scales, image, landmarks, weights, prior)

    @tf.function
    def step() -> Dict[str, tf.Tensor]:
        with tf.GradientTape() as tape:
            current = terms()
        optimizer.apply_gradients([(tape.gradient(current["loss"], offset), offset)])
        return current

    before = {k: float(v) for k, v in terms().items()}
    for _ in tqdm(range(steps), disable=not progress, unit="step", desc="fit"):
        step()
    after = {k: float(v) for k, v in terms().items()}
    return FitResult((init + offset.numpy() * scales).astype(np.float32), before, after)
