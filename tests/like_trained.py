"""A fresh encoder made to behave like a trained one, for export parity tests."""

from __future__ import annotations

import keras
import numpy as np

from tfface.encoders import backbone_of


def like_trained(encoder: keras.Model, samples: np.ndarray, seed: int = 0) -> None:
    """Give a fresh encoder, in place, what a trained one has, so that a parity
    check compares meaningful outputs (a fresh head is zero: every format
    would agree trivially): batch-norm statistics of ``samples``
    ``[N, S, S, 3]`` (one training-mode pass with momentum 0) and a random
    head whose outputs have a standard deviation of about 0.3."""
    batchnorms = [layer for layer in backbone_of(encoder).layers
                  if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in batchnorms]
    for layer in batchnorms:
        layer.momentum = 0.0
    encoder(samples, training=True)
    for layer, momentum in zip(batchnorms, momenta):
        layer.momentum = momentum
    head = encoder.get_layer("params_head")
    features = keras.Model(encoder.input, head.input).predict(samples, verbose=0)
    scale = 0.3 / (features.std() * np.sqrt(features.shape[1]))
    kernel = np.random.default_rng(seed).normal(scale=scale, size=head.kernel.shape)
    head.kernel.assign(kernel.astype(np.float32))
