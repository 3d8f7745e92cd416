import numpy as np
import tensorflow as tf
from scipy.spatial.transform import Rotation

from tfface.layers import Camera, rotation_matrix
from tfface.pinhole import euler_from_matrix
from tests.gradients import assert_gradients_match


def test_rotation_matches_scipy_xyz_and_is_orthonormal():
    angles = np.random.default_rng(0).uniform(-1.2, 1.2, (50, 3))
    ours = rotation_matrix(tf.constant(angles)).numpy()
    np.testing.assert_allclose(ours, Rotation.from_euler("xyz", angles).as_matrix(), atol=1e-6)
    np.testing.assert_allclose(ours @ np.swapaxes(ours, 1, 2), np.broadcast_to(np.eye(3), ours.shape),
                               atol=1e-6)
    np.testing.assert_allclose(np.linalg.det(ours), 1.0, atol=1e-6)
    np.testing.assert_allclose(euler_from_matrix(ours), angles, atol=1e-6)


def test_projection_of_known_points():
    cam = Camera(image_size=(100, 200), fov_degrees=90.0, distance=10.0)
    f = cam.focal
    assert np.isclose(f, 100.0)  # (200 / 2) / tan(45 deg)
    points = tf.constant([[[0.0, 0, 0], [1.0, 0, 0], [0, 2.0, 5.0]]])
    zeros = tf.zeros([1, 3])
    world, clip, pixels = cam(points, zeros, zeros, tf.zeros([1, 1]))
    expected = [[99.5, 49.5], [99.5 + 100 * 1 / 10, 49.5], [99.5, 49.5 - 100 * 2 / 5]]
    np.testing.assert_allclose(pixels.numpy()[0], expected, atol=1e-4)
    # Clip space agrees with pixels through tfg's NDC convention (row 0 = NDC y -1).
    ndc = clip.numpy()[0, :, :2] / clip.numpy()[0, :, 3:]
    np.testing.assert_allclose((ndc[:, 0] + 1) * 100 - 0.5, pixels.numpy()[0, :, 0], atol=1e-4)
    np.testing.assert_allclose((ndc[:, 1] + 1) * 50 - 0.5, pixels.numpy()[0, :, 1], atol=1e-4)
    weak = Camera(image_size=(100, 200), fov_degrees=90.0, distance=10.0,
                  projection="weak_perspective")
    _, _, wp = weak(points, zeros, zeros, tf.zeros([1, 1]))
    np.testing.assert_allclose(wp.numpy()[0, 2], [99.5, 49.5 - 100 * 2 / 10], atol=1e-4)


def test_pose_applies_scale_rotation_translation_about_center():
    cam = Camera(center=(1.0, 2.0, 3.0))
    vertices = tf.constant([[[2.0, 2.0, 3.0]]])
    yaw90 = tf.constant([[0.0, np.pi / 2, 0.0]])
    world = cam.to_world(vertices, yaw90, tf.constant([[0.0, 0.0, 5.0]]), tf.constant([[np.log(2.0)]], tf.float32))
    np.testing.assert_allclose(world.numpy()[0, 0], [0.0, 0.0, 5.0 - 2.0], atol=1e-5)


def test_camera_gradients_match_numeric():
    cam = Camera(image_size=(64, 64), distance=300.0)
    rng = np.random.default_rng(2)
    args = [rng.normal(scale=30, size=(2, 4, 3)), rng.normal(scale=0.3, size=(2, 3)),
            rng.normal(scale=5, size=(2, 3)), rng.normal(scale=0.1, size=(2, 1))]
    assert_gradients_match(lambda v, r, t, s: cam(v, r, t, s)[2], args, eps=1e-2)


def test_alignment_template_from_model_and_camera_is_where_the_renderer_puts_the_mean_face(
        small_model):
    from tfface.faces.align import mean_face_template
    from tfface.layers import Renderer
    for projection in ("perspective", "weak_perspective"):
        renderer = Renderer.from_model(small_model, (48, 64), projection=projection)
        rendered = renderer.compute_for_render(renderer.layout.zeros(1))["landmarks2d"].numpy()[0]
        template = mean_face_template(small_model, renderer.camera.pinhole)
        np.testing.assert_allclose(template * [64, 48] - 0.5, rendered, atol=1e-3)
    # The default camera is the renderer's, whatever the image size.
    np.testing.assert_allclose(mean_face_template(small_model),
                               mean_face_template(small_model, Renderer.from_model(
                                   small_model, (100, 100)).camera.pinhole), atol=1e-3 / 100)


def test_compute_for_render_returns_every_per_vertex_output_consistently(small_model):
    from tfface.layers import Renderer
    from tfface.pinhole import euler_matrix
    renderer = Renderer.from_model(small_model, (40, 40))
    layout = renderer.layout
    params = np.random.default_rng(3).normal(scale=0.2, size=(2, layout.size)).astype(np.float32)
    out = {k: v.numpy() for k, v in renderer.compute_for_render(params).items()}
    for b in range(2):  # numpy reference: model.shape, rotation, projection, lighting
        g = layout.split_numpy(params[b])
        shape = small_model.shape(g["identity"], g["expression"])
        world = (np.exp(g["scale"][0]) * (shape - small_model.center) @ euler_matrix(g["rotation"]).T
                 + g["translation"])
        np.testing.assert_allclose(out["vertices"][b], world, atol=1e-2)
        pixels, _ = renderer.camera.pinhole.project(world)
        np.testing.assert_allclose(out["pixels"][b], pixels, atol=1e-3)
    np.testing.assert_allclose(out["colors"], out["albedo"] * out["shading"], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out["normals"], axis=-1), 1.0, atol=1e-4)
    idx = small_model.landmark_indices
    np.testing.assert_allclose(out["landmarks2d"], out["pixels"][:, idx], atol=1e-4)
    np.testing.assert_allclose(out["landmarks3d"], out["vertices"][:, idx], atol=1e-4)
    lit = renderer.lighting(out["albedo"], out["normals"], params[:, layout.slices["illumination"]])
    np.testing.assert_allclose(out["colors"], lit.numpy(), atol=1e-5)
    rendered = renderer(params)
    np.testing.assert_allclose(rendered["landmarks2d"].numpy(), out["landmarks2d"], atol=1e-5)
