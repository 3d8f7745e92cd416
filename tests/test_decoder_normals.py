import numpy as np
import tensorflow as tf
import trimesh

from tfface.layers import MorphableDecoder, VertexNormals, vertex_normals
from tfface.params import FaceParams
from tests.gradients import assert_gradients_match


def test_decoder_matches_numpy_reference(small_model):
    decoder = MorphableDecoder.from_model(small_model)
    layout = FaceParams.from_model(small_model)
    params = np.random.default_rng(0).normal(size=(3, layout.size)).astype(np.float32)
    vertices, albedo = decoder(params)
    g = layout.split_numpy(params)
    for b in range(3):
        np.testing.assert_allclose(vertices[b], small_model.shape(g["identity"][b], g["expression"][b]),
                                   atol=1e-3)
        np.testing.assert_allclose(albedo[b], np.clip(small_model.albedo(g["albedo"][b]), 0, 1),
                                   atol=1e-5)


def test_decoder_gradients_match_numeric(small_model):
    decoder = MorphableDecoder.from_model(small_model)
    layout = FaceParams.from_model(small_model)
    params = np.random.default_rng(1).normal(scale=0.5, size=(2, layout.size))
    assert_gradients_match(lambda p: decoder(p), [params])


def test_vertex_normals_match_trimesh_and_gradients(small_model):
    mesh = trimesh.Trimesh(small_model.mean_shape, small_model.triangles, process=False)
    ours = vertex_normals(tf.constant(small_model.mean_shape[None]), small_model.triangles)
    # trimesh weights by angle, we by area: on a fine sphere both are radial.
    assert np.mean(np.sum(ours.numpy()[0] * mesh.vertex_normals, 1)) > 0.99
    layer = VertexNormals.from_triangles(np.array([[0, 1, 2], [0, 2, 3]]))
    quad = np.array([[[0, 0, 0], [1, 0, 0.2], [1, 1, 0], [0, 1, 0.1]]], np.float64)
    assert_gradients_match(lambda v: layer(v), [quad])
