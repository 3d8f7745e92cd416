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


def test_face_autoencoder_keras_file_roundtrip(small_model, tmp_path):
    from tfface.training.autoencoder import FaceAutoencoder
    from tfface.data.pipeline import Batch
    from tfface.encoders import build_encoder
    from tfface.face_loss import FaceLoss
    from tests.like_trained import like_trained
    renderer = Renderer.from_model(small_model, (32, 32))
    images = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    encoder = build_encoder(renderer.layout, input_size=32)
    like_trained(encoder, images)  # non-zero outputs, so the comparison means something
    model = FaceAutoencoder(encoder, renderer, FaceLoss({"landmark": 7.0, "landmark_emphasis": 3.0}))
    landmarks = np.random.default_rng(2).uniform(0, 32, (2, 68, 2)).astype(np.float32)
    expected = {k: float(v) for k, v in model.compute_terms(Batch(images, landmarks)).items()}
    path = str(tmp_path / "autoencoder.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert isinstance(loaded, FaceAutoencoder)
    assert loaded.face_loss.section() == model.face_loss.section()
    np.testing.assert_allclose(loaded.encoder.predict(images, verbose=0),
                               encoder.predict(images, verbose=0), atol=1e-5)
    got = {k: float(v) for k, v in loaded.compute_terms(Batch(images, landmarks)).items()}
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-5), name


def _wrong_shape_calls(model):
    layout = FaceParams.from_model(model)
    v = model.num_vertices
    decoder = MorphableDecoder.from_model(model)
    lighting = SphericalHarmonicsLighting()
    camera = Camera.for_model(model, (32, 32))
    return [
        (lambda: decoder(np.zeros((2, layout.size + 1), np.float32)),
         "MorphableDecoder: params", f"[B, {layout.size}]"),
        (lambda: VertexNormals.from_triangles(model.triangles)(np.zeros((2, v, 2), np.float32)),
         "VertexNormals: vertices", "[B, V, 3]"),
        (lambda: lighting(np.zeros((1, v, 3)), np.zeros((1, v, 3)), np.zeros((1, 9))),
         "SphericalHarmonicsLighting: illumination", "[B, 27]"),
        (lambda: camera(np.zeros((1, v, 3)), np.zeros((1, 3)), np.zeros((1, 2)), np.zeros((1, 1))),
         "Camera: translation", "[B, 3]"),
        (lambda: Rasterizer.from_triangles(model.triangles, image_size=(8, 8))(
            np.zeros((1, v, 3)), np.zeros((1, v, 3))), "Rasterizer: clip_vertices", "[B, V, 4]"),
        (lambda: Renderer.from_model(model, (8, 8))(np.zeros((layout.size,), np.float32)),
         "Renderer: params", f"[B, {layout.size}]"),
    ]


@pytest.mark.parametrize("index", range(6))
def test_public_layers_reject_wrong_shapes_naming_the_argument(small_model, index):
    call, argument, expected = _wrong_shape_calls(small_model)[index]
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)  # Keras adds its call context around the layer's own line
    assert f"{argument} must have" in message and f"expected {expected}" in message, message
