import cv2
import pytest
import numpy as np
import tensorflow as tf

from tfface.layers import Rasterizer, Renderer, rasterize_triangle_ids
from tfface.params import FaceParams
from tests.gradients import assert_gradients_match

H, W = 60, 80


def _clip_from_pixels(pixels, depth):
    """Clip coords (w = 1) whose pixel positions are ``pixels`` (centres at integers)."""
    x = (pixels[..., 0] + 0.5) / W * 2 - 1
    y = (pixels[..., 1] + 0.5) / H * 2 - 1
    return np.stack([x, y, depth, np.ones_like(depth)], -1).astype(np.float32)


def test_coverage_matches_opencv_fillpoly(demo):
    size = 224
    renderer = Renderer.from_model(demo, (size, size))
    params = renderer.layout.zeros(1)
    params[0, renderer.layout.slices["rotation"]] = [0.2, 0.4, 0.1]
    mask = renderer(params)["mask"].numpy()[0, ..., 0] > 0
    pixels = renderer.compute_for_render(params)["pixels"].numpy()[0]
    reference = np.zeros((size, size), np.uint8)
    for tri in demo.triangles:
        cv2.fillPoly(reference, [np.round(pixels[tri] * 256).astype(np.int32)], 1, shift=8)
    mismatch = np.mean(mask != (reference > 0))
    assert mask.mean() > 0.2
    assert mismatch < 0.01, f"{mismatch:.2%} of pixels differ from cv2.fillPoly"


def test_nearest_triangle_wins_and_background_is_minus_one():
    square = np.array([[10, 10], [70, 10], [40, 50]], float)
    pixels = np.concatenate([square, square + [5, 0]])
    clip = _clip_from_pixels(pixels, np.array([0.5, 0.5, 0.5, -0.2, -0.2, -0.2]))
    ids = rasterize_triangle_ids(clip[None], np.array([[0, 1, 2], [3, 4, 5]]), (H, W)).numpy()[0]
    assert ids[0, 0] == -1
    assert ids[30, 40] == 1  # the nearer (smaller z) triangle
    # Same with reversed triangle order.
    ids2 = rasterize_triangle_ids(clip[None], np.array([[3, 4, 5], [0, 1, 2]]), (H, W)).numpy()[0]
    assert ids2[30, 40] == 0


def test_backface_culling_uses_counter_clockwise_front_faces():
    from tfface.layers import Camera
    cam = Camera(image_size=(H, W), distance=100.0)
    ccw = tf.constant([[[-10.0, -10, 0], [10, -10, 0], [0, 10, 0]]])  # CCW seen from +z
    clip = cam.to_clip(ccw)
    front = rasterize_triangle_ids(clip, np.array([[0, 1, 2]]), (H, W), cull_backfaces=True)
    back = rasterize_triangle_ids(clip, np.array([[0, 2, 1]]), (H, W), cull_backfaces=True)
    assert (front.numpy() == 0).sum() > 50 and (back.numpy() >= 0).sum() == 0


def test_render_is_upright(demo):
    renderer = Renderer.from_model(demo, (64, 64))
    out = renderer(FaceParams.from_model(demo).zeros(1))
    mask = out["mask"].numpy()[0, ..., 0]
    lms = out["landmarks2d"].numpy()[0]
    assert lms[8, 1] > lms[30, 1] > lms[19, 1]  # chin below nose below brow in pixel rows
    rows = np.flatnonzero(mask.any(1))
    # The hair (dark albedo) is at the top rows of the face region.
    image = out["image"].numpy()[0]
    top, bottom = image[rows[2]].sum(-1).max(), image[int(lms[8, 1]) - 3].sum(-1).max()
    assert top < bottom


def test_rasterizer_interpolation_gradients_match_numeric():
    layer = Rasterizer.from_triangles(np.array([[0, 1, 2], [0, 2, 3]]), image_size=(16, 16))
    clip = np.array([[[-0.8, -0.7, 0.1, 1.0], [0.7, -0.8, 0.2, 1.1], [0.8, 0.75, 0.0, 0.9],
                      [-0.7, 0.7, 0.1, 1.0]]])
    colors = np.random.default_rng(0).uniform(size=(1, 4, 3))
    assert_gradients_match(lambda c, a: layer(c, a)[0], [clip, colors], eps=1e-3, rtol=5e-2)


def test_silhouette_gradients_only_with_splatting(small_model):
    """d(coverage-weighted column sum)/d(translation x) has a known value: the
    weights grow by 1/31 per column, so moving the face d pixels right adds
    d * area / 31, and x-translation moves it focal / distance pixels per mm.
    Splatting's gradient must match it (and the hard coverage's finite
    difference); plain rasterization's mask has no gradient at all."""
    layout = FaceParams.from_model(small_model)
    tx = layout.slices["translation"].start
    weights = tf.linspace(0.0, 1.0, 32)[None, None, :, None]
    grads, losses = {}, {}
    for splat in (False, True):
        renderer = Renderer.from_model(small_model, (32, 32), silhouette_gradients=splat)
        params = tf.constant(layout.zeros(1))
        with tf.GradientTape() as tape:
            tape.watch(params)
            mask = renderer(params)["mask"]
            loss = tf.reduce_sum(mask * weights)
        grads[splat] = tape.gradient(loss, params)
        area = float(tf.reduce_sum(tf.cast(mask > 0.5, tf.float32)))
        for step in (-20.0, 20.0):
            shifted = layout.zeros(1)
            shifted[0, tx] = step
            losses[step] = float(tf.reduce_sum(
                tf.cast(renderer(tf.constant(shifted))["mask"] > 0.5, tf.float32) * weights))
    camera = renderer.camera
    expected = area / 31.0 * camera.focal / camera.distance
    numeric = (losses[20.0] - losses[-20.0]) / 40.0  # 2.4 px each way
    assert numeric == pytest.approx(expected, rel=0.2)
    assert grads[True].numpy()[0, tx] == pytest.approx(expected, rel=0.3)
    assert grads[False] is None or np.allclose(grads[False], 0)


def test_renderer_gradients_match_numeric(small_model):
    renderer = Renderer.from_model(small_model, (24, 24))
    layout = renderer.layout
    rng = np.random.default_rng(3)
    params = layout.zeros(1)
    params[0, layout.slices["illumination"]] = rng.normal(scale=0.2, size=27)
    params[0, layout.slices["albedo"]] = rng.normal(scale=0.5, size=2)
    smooth = [layout.slices[g] for g in ("illumination", "albedo")]
    index = np.concatenate([np.arange(s.start, s.stop) for s in smooth])

    def image_of(sub):
        full = tf.tensor_scatter_nd_update(tf.constant(params), [[0, i] for i in index], sub[0])
        return renderer(full)["image"]

    assert_gradients_match(image_of, [params[:, index]], eps=1e-2)
    # Geometry: the tape gradient of the landmarks (projection path).
    geo = layout.slices["identity"]
    assert_gradients_match(lambda p: renderer.compute_for_render(
        tf.concat([p, tf.zeros([1, layout.size - geo.stop])], 1))["landmarks2d"],
        [params[:, :geo.stop] + 0.1], eps=1e-2)


def test_barycentrics_equal_tensorflow_graphics_reference(demo):
    from tensorflow_graphics.rendering import barycentrics as tfg_barycentrics
    from tensorflow_graphics.rendering import framebuffer as tfg_framebuffer

    from tfface.layers.rasterizer import differentiable_barycentrics

    renderer = Renderer.from_model(demo, (48, 40))
    params = renderer.layout.zeros(2)
    params[1, renderer.layout.slices["rotation"]] = [0.1, -0.5, 0.2]
    clip = renderer.compute_for_render(params)["clip"]
    ids = renderer.rasterizer.triangle_ids(clip)
    triangles = demo.triangles.astype(np.int32)
    ours = differentiable_barycentrics(ids, clip, tf.constant(triangles)).numpy()
    safe = tf.where(ids >= 0, ids, 0)[..., None]
    mask = tf.cast(ids >= 0, tf.float32)[..., None]
    reference = tfg_barycentrics.differentiable_barycentrics(
        tfg_framebuffer.Framebuffer(
            triangle_id=safe, vertex_ids=tf.gather(triangles, safe[..., 0]), foreground_mask=mask,
            barycentrics=tfg_framebuffer.RasterizedAttribute(tf.zeros(ids.shape + (3,)))),
        clip, triangles).barycentrics.value.numpy()
    assert mask.numpy().mean() > 0.2
    np.testing.assert_allclose(ours, reference, atol=1e-4)
    inside = ids.numpy() >= 0
    assert np.all(ours[inside] > -1e-3) and np.allclose(ours[inside].sum(-1), 1, atol=1e-4)


def test_visibility_matches_tensorflow_graphics_cpu_kernel(demo):
    import shutil

    from benchmarks.tfg_kernel import build_tfg_cpu_rasterizer, tfg_kernel_triangle_ids
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed: cannot build tfg's reference kernel")
    backend = build_tfg_cpu_rasterizer()
    if backend is None:
        pytest.skip("tfg's CPU kernel did not build here")
    renderer = Renderer.from_model(demo, (96, 80))
    params = renderer.layout.zeros(3)
    params[1, renderer.layout.slices["rotation"]] = [0.2, 0.6, -0.1]
    params[2, renderer.layout.slices["rotation"]] = [-0.3, -0.4, 0.3]
    params[2, renderer.layout.slices["translation"]] = [20.0, -10.0, 100.0]
    per_vertex = renderer.compute_for_render(params)
    world, clip = per_vertex["vertices"], per_vertex["clip"]
    ours = renderer.rasterizer.triangle_ids(clip).numpy()
    theirs = tfg_kernel_triangle_ids(backend, renderer.camera, world, demo.triangles).numpy()
    assert (ours >= 0).mean() > 0.2
    assert np.mean(ours == theirs) > 0.995
    assert np.mean((ours >= 0) == (theirs >= 0)) > 0.998
