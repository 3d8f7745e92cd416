"""MorphableDecoder: FaceParams -> vertices and albedo."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfface.layers.serialization import PACKAGE, assign, constant_weight
from tfface.params import FaceParams
from tfface.shapes import check_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class MorphableDecoder(keras.layers.Layer):
    """params ``[B, P]`` -> (vertices ``[B, V, 3]``, albedo ``[B, V, 3]``).

    vertices = mean_shape + id_basis @ identity + exp_basis @ expression
    albedo   = clip(mean_albedo + albedo_basis @ albedo_coefficients, 0, 1)

    Vertices are in model space (before pose). The model arrays are
    non-trainable weights, so a ``.keras`` file carries the model.
    Build one with :meth:`from_model`.
    """

    def __init__(self, num_vertices: int, layout: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_vertices = int(num_vertices)
        self.layout = FaceParams.from_config(layout)
        v3 = 3 * self.num_vertices
        self.mean_shape = constant_weight(self, "mean_shape", (v3,))
        self.id_basis = constant_weight(self, "id_basis", (v3, self.layout.identity))
        self.exp_basis = constant_weight(self, "exp_basis", (v3, self.layout.expression))
        self.mean_albedo = constant_weight(self, "mean_albedo", (v3,))
        self.albedo_basis = constant_weight(self, "albedo_basis", (v3, self.layout.albedo))

    @classmethod
    def from_model(cls, model, **kwargs) -> "MorphableDecoder":
        """Decoder for a :class:`tfface.morphable.MorphableModel`."""
        layer = cls(model.num_vertices, FaceParams.from_model(model).get_config(), **kwargs)
        assign(layer.mean_shape, model.mean_shape.reshape(-1))
        assign(layer.id_basis, model.id_basis)
        assign(layer.exp_basis, model.exp_basis)
        assign(layer.mean_albedo, model.mean_albedo.reshape(-1))
        assign(layer.albedo_basis, model.albedo_basis)
        return layer

    def call(self, params):
        check_shape(params, "MorphableDecoder: params", ("B", self.layout.size))
        groups = self.layout.split(params)
        shape = (self.mean_shape
                 + tf.matmul(groups["identity"], self.id_basis, transpose_b=True)
                 + tf.matmul(groups["expression"], self.exp_basis, transpose_b=True))
        albedo = self.mean_albedo + tf.matmul(groups["albedo"], self.albedo_basis,
                                              transpose_b=True)
        batch = tf.shape(params)[0]
        vertices = tf.reshape(shape, [batch, self.num_vertices, 3])
        albedo = tf.clip_by_value(tf.reshape(albedo, [batch, self.num_vertices, 3]), 0.0, 1.0)
        return vertices, albedo

    def compute_output_shape(self, input_shape):
        out = (input_shape[0], self.num_vertices, 3)
        return out, out

    def get_config(self):
        return {**super().get_config(), "num_vertices": self.num_vertices,
                "layout": self.layout.get_config()}
