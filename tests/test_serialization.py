"""Every layer survives get_config/from_config and a .keras round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfface.layers import (Camera, MorphableDecoder, Rasterizer, Renderer,
                           SphericalHarmonicsLighting, VertexNormals)
from tfface.params import FaceParams


def _cases(model):
    layout = FaceParams.from_model(model)
    rng = np.random.default_rng(0)
    params = rng.normal(scale=0.3, size=(2, layout.size)).astype(np.float32)
    v = model.num_vertices
    verts = model.mean_shape[None].repeat(2, 0)
    normals = rng.normal(size=(2, v, 3)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    clip = Camera.for_model(model, (32, 32)).to_clip(tf.constant(verts)).numpy()
    return [
        (MorphableDecoder.from_model(model), [params]),
        (VertexNormals.from_triangles(model.triangles), [verts]),
        (SphericalHarmonicsLighting(ambient=0.7), [normals * 0 + 0.5, normals, params[:, :27]]),
        (Camera.for_model(model, (32, 32), projection="weak_perspective"),
         [verts, params[:, :3], params[:, 3:6] * 10, params[:, 6:7]]),
        (Rasterizer.from_triangles(model.triangles, image_size=(32, 32)), [clip, normals]),
        (Renderer.from_model(model, (32, 32)), [params]),
    ]


def _outputs(layer, inputs):
    out = layer(*[tf.constant(x) for x in inputs])
    return [np.asarray(o) for o in tf.nest.flatten(out)]


@pytest.mark.parametrize("index", range(6))
def test_config_and_keras_file_roundtrip(small_model, tmp_path, index):
    layer, inputs = _cases(small_model)[index]
    expected = _outputs(layer, inputs)
    clone = type(layer).from_config(layer.get_config())
    _outputs(clone, inputs)  # builds
    clone.set_weights(layer.get_weights())
    for a, b in zip(expected, _outputs(clone, inputs)):
        np.testing.assert_allclose(a, b, atol=1e-6)

    # Inside a functional model saved as .keras.
    keras_inputs = [keras.Input(shape=np.shape(x)[1:], batch_size=2) for x in inputs]
    model = keras.Model(keras_inputs, layer(*keras_inputs))
    path = str(tmp_path / "layer.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    got = [np.asarray(o) for o in tf.nest.flatten(loaded([tf.constant(x) for x in inputs]))]
    for a, b in zip(expected, got):
        np.testing.assert_allclose(a, b, atol=1e-6)
