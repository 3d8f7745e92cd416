"""FaceAutoencoder: encoder -> FaceParams -> renderer, trained by a FaceLoss."""

from __future__ import annotations

from typing import Dict, Optional

import keras
import tensorflow as tf

from tfface.data.pipeline import Batch, unpack_batch
from tfface.face_loss import FaceLoss
from tfface.layers.renderer import Renderer
from tfface.layers.serialization import PACKAGE
from tfface.shapes import check_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class FaceAutoencoder(keras.Model):
    """Self-supervised face model: image -> params -> render -> losses.

    ``model.encoder`` is a separate ``keras.Model`` (image ``[B, S, S, 3]``
    RGB 0..255 -> params ``[B, P]``) that prediction and export use alone.
    Data: ``(image, labels)`` batches (:func:`tfface.data.pipeline.pack_labels`),
    image ``[B, S, S, 3]`` float 0..255, labels the landmarks ``[B, 68, 2]``
    pixels (Keras' ``(x, y)``) or a dict with them, the true ``params``
    ``[B, P]`` where known (synthetic faces: the ``shape`` term) and the
    ``landmark_vertices`` ``[B, 68]`` they mark (annotated photos; -1: the
    model's own) and, for photo sets mixed with synthetic faces, the other
    labels of :data:`tfface.data.pipeline.LABELS`. ``fit`` tracks ``loss`` and each term of ``face_loss``
    (unweighted) as metrics.
    """

    def __init__(self, encoder: keras.Model, renderer: Renderer,
                 face_loss: Optional[FaceLoss] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.renderer = renderer
        self.face_loss = FaceLoss() if face_loss is None else face_loss
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("loss",) + self.face_loss.names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, image, training: bool = False):
        return self.encoder(image, training=training)

    def compute_terms(self, batch: Batch, training: bool = False) -> Dict[str, tf.Tensor]:
        """Unweighted loss terms (scalars) and their weighted sum ``loss`` of a
        :class:`tfface.data.pipeline.Batch`."""
        image = tf.cast(batch.image, tf.float32)
        check_shape(image, "FaceAutoencoder: image", ("B",) + tuple(self.renderer.image_size)
                    + (3,))
        return self.face_loss.of_params(self.renderer, self.encoder(image, training=training),
                                        image, batch.landmarks, batch.params,
                                        batch.landmark_vertices, **batch.labels())

    def train_step(self, data):
        with tf.GradientTape() as tape:
            terms = self.compute_terms(unpack_batch(data), True)
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
        return self._update_trackers(self.compute_terms(unpack_batch(data), False))

    def _update_trackers(self, terms):
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def get_config(self):
        return {**super().get_config(),
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "renderer": keras.saving.serialize_keras_object(self.renderer),
                "face_loss": keras.saving.serialize_keras_object(self.face_loss)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["renderer"] = keras.saving.deserialize_keras_object(config["renderer"])
        config["face_loss"] = keras.saving.deserialize_keras_object(config["face_loss"])
        return cls(**config)

