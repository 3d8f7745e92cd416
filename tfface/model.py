"""FaceAutoencoder: encoder -> FaceParams -> renderer, trained by three losses."""

from __future__ import annotations

from typing import Dict, Mapping, Optional

import keras
import tensorflow as tf

from tfface.layers.renderer import Renderer
from tfface.layers.serialization import PACKAGE
from tfface.loss_weights import DEFAULT_LOSS_WEIGHTS, DEFAULT_REGULARIZATION
from tfface.losses import landmark_loss, photometric_loss, regularization_loss

LOSS_TERMS = ("landmark", "photometric", "regularization")


def face_loss_terms(renderer: Renderer, params: tf.Tensor, image: tf.Tensor,
                    landmarks: tf.Tensor, loss_weights: Mapping[str, float],
                    regularization: Mapping[str, float], landmark_weights=None,
                    robust_photometric: bool = True) -> Dict[str, tf.Tensor]:
    """The three losses of rendering ``params`` ``[B, P]`` against ``image``
    ``[B, S, S, 3]`` (0..255) and ``landmarks`` ``[B, 68, 2]``: unweighted
    scalar terms and their weighted sum ``loss``. Training and per-image
    fitting both use it."""
    target = image / 255.0
    out = renderer(params, target)
    size = float(renderer.image_size[1])
    terms = {
        "landmark": landmark_loss(out["landmarks2d"], landmarks, size, landmark_weights),
        "photometric": photometric_loss(out["image"], target, out["mask"],
                                        robust=robust_photometric),
        "regularization": regularization_loss(params, renderer.layout, regularization),
    }
    terms["loss"] = terms["regularization"] + sum(
        loss_weights.get(name, 0.0) * terms[name] for name in ("landmark", "photometric"))
    return terms


@keras.saving.register_keras_serializable(package=PACKAGE)
class FaceAutoencoder(keras.Model):
    """Self-supervised face model: image -> params -> render -> losses.

    ``model.encoder`` is a separate ``keras.Model`` (image ``[B, S, S, 3]``
    RGB 0..255 -> params ``[B, P]``) that prediction and export use alone.
    Data: ``(image, landmarks)`` batches, image ``[B, S, S, 3]`` float 0..255,
    landmarks ``[B, 68, 2]`` pixels (Keras' ``(x, y)``). ``fit`` tracks ``loss`` and each term ``landmark``,
    ``photometric``, ``regularization`` (unweighted) as metrics.
    """

    def __init__(self, encoder: keras.Model, renderer: Renderer,
                 loss_weights: Optional[Mapping[str, float]] = None,
                 regularization: Optional[Mapping[str, float]] = None,
                 landmark_weights=None, robust_photometric: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.renderer = renderer
        self.loss_weights = dict(DEFAULT_LOSS_WEIGHTS if loss_weights is None else loss_weights)
        self.regularization = dict(DEFAULT_REGULARIZATION if regularization is None
                                   else regularization)
        self.landmark_weights = None if landmark_weights is None else \
            [float(w) for w in landmark_weights]
        self.robust_photometric = bool(robust_photometric)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss",) + LOSS_TERMS}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, image, training: bool = False):
        return self.encoder(image, training=training)

    def compute_terms(self, image: tf.Tensor, landmarks: tf.Tensor, training: bool = False
                      ) -> Dict[str, tf.Tensor]:
        """Unweighted loss terms (scalars) and their weighted sum ``loss``."""
        image = tf.cast(image, tf.float32)
        return face_loss_terms(self.renderer, self.encoder(image, training=training), image,
                               landmarks, self.loss_weights, self.regularization,
                               self.landmark_weights, self.robust_photometric)

    def train_step(self, data):
        image, landmarks, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            terms = self.compute_terms(image, landmarks, training=True)
            # Gradients are summed over replicas: scale so the step uses the mean.
            scaled = terms["loss"] / tf.distribute.get_strategy().num_replicas_in_sync
        variables = self.encoder.trainable_variables
        gradients = tape.gradient(scaled, variables)
        # A non-finite loss must not reach the weights: its step uses zero
        # gradients (a conditional apply cannot cross replicas' sync points).
        finite = tf.math.is_finite(terms["loss"])
        for g in gradients:
            finite &= tf.reduce_all(tf.math.is_finite(g))
        gradients = [tf.where(finite, g, tf.zeros_like(g)) for g in gradients]
        self.optimizer.apply(gradients, variables)
        return self._update_trackers(terms)

    def test_step(self, data):
        image, landmarks, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._update_trackers(self.compute_terms(image, landmarks))

    def _update_trackers(self, terms):
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def get_config(self):
        return {**super().get_config(),
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "renderer": keras.saving.serialize_keras_object(self.renderer),
                "loss_weights": self.loss_weights, "regularization": self.regularization,
                "landmark_weights": self.landmark_weights,
                "robust_photometric": self.robust_photometric}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["renderer"] = keras.saving.deserialize_keras_object(config["renderer"])
        return cls(**config)
