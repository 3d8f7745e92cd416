"""Area-weighted vertex normals of a triangle mesh with a shared topology."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfface.layers.serialization import PACKAGE, TriangleTopology, constant_weight
from tfface.shapes import check_shape


def face_normals(vertices: tf.Tensor, triangles: tf.Tensor) -> tf.Tensor:
    """Unnormalised triangle normals (length = 2 x area).

    Args:
      vertices: ``[B, V, 3]``.
      triangles: ``[T, 3]`` int, counter-clockwise seen from outside.

    Returns:
      ``[B, T, 3]``.
    """
    corners = tf.gather(vertices, triangles, axis=1)  # [B, T, 3, 3]
    return tf.linalg.cross(corners[:, :, 1] - corners[:, :, 0],
                           corners[:, :, 2] - corners[:, :, 0])


def vertex_normals(vertices: tf.Tensor, triangles: tf.Tensor,
                   eps: float = 1e-12) -> tf.Tensor:
    """Unit vertex normals: area-weighted sum of the adjacent face normals.

    A segment sum over the 3T triangle corners (faster than
    ``tensorflow_graphics.geometry.representation.mesh.normals`` and it
    accepts a dynamic batch with ``[T, 3]`` indices).

    Args:
      vertices: ``[B, V, 3]``.
      triangles: ``[T, 3]`` int.

    Returns:
      ``[B, V, 3]`` unit normals (zero for vertices in no triangle).
    """
    normals = face_normals(vertices, triangles)  # [B, T, 3]
    batch = tf.shape(vertices)[0]
    num_vertices = tf.shape(vertices)[1]
    per_corner = tf.tile(tf.transpose(normals, [1, 0, 2]), [3, 1, 1])  # [3T, B, 3]
    ids = tf.reshape(tf.transpose(triangles), [-1])  # corner-major, matches tile
    summed = tf.math.unsorted_segment_sum(per_corner, ids, num_vertices)  # [V, B, 3]
    summed = tf.transpose(summed, [1, 0, 2])
    summed = tf.reshape(summed, [batch, num_vertices, 3])
    norm = tf.sqrt(tf.reduce_sum(tf.square(summed), -1, keepdims=True) + eps)
    return summed / norm


@keras.saving.register_keras_serializable(package=PACKAGE)
class VertexNormals(TriangleTopology, keras.layers.Layer):
    """Keras layer: vertices ``[B, V, 3]`` -> unit vertex normals ``[B, V, 3]``."""

    def __init__(self, num_triangles: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_triangles = int(num_triangles)
        self.triangles = constant_weight(self, "triangles", (self.num_triangles, 3), "int32")


    def call(self, vertices):
        check_shape(vertices, "VertexNormals: vertices", ("B", "V", 3))
        return vertex_normals(vertices, tf.convert_to_tensor(self.triangles))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_triangles": self.num_triangles}
