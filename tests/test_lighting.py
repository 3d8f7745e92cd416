import numpy as np
import scipy.special
import tensorflow as tf

from tfface.layers import SphericalHarmonicsLighting, sh_basis
from tfface.layers.lighting import AMBIENT_INIT
from tests.gradients import assert_gradients_match


def _real_sh_scipy(l, m, polar, azimuth):
    """Real SH from scipy's complex SH, removing the Condon-Shortley phase."""
    if hasattr(scipy.special, "sph_harm_y"):
        y = scipy.special.sph_harm_y(l, abs(m), polar, azimuth)
    else:  # scipy < 1.15
        y = scipy.special.sph_harm(abs(m), l, azimuth, polar)
    if m == 0:
        return y.real
    sign = (-1.0) ** m
    return np.sqrt(2) * sign * (y.imag if m < 0 else y.real)


def test_sh_basis_matches_scipy_real_form():
    rng = np.random.default_rng(0)
    d = rng.normal(size=(200, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    polar, azimuth = np.arccos(d[:, 2]), np.arctan2(d[:, 1], d[:, 0])
    ours = sh_basis(tf.constant(d, tf.float32)).numpy()
    order = [(0, 0), (1, -1), (1, 0), (1, 1), (2, -2), (2, -1), (2, 0), (2, 1), (2, 2)]
    reference = np.stack([_real_sh_scipy(l, m, polar, azimuth) for l, m in order], 1)
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_ambient_init_and_lambertian_directional_light():
    layer = SphericalHarmonicsLighting()
    normals = tf.constant([[[0, 0, 1.0], [0, 0, -1.0], [1.0, 0, 0]]])
    albedo = tf.ones_like(normals)
    ambient = layer(albedo, normals, tf.zeros([1, 27])).numpy()
    np.testing.assert_allclose(ambient, np.pi * AMBIENT_INIT / (2 * np.sqrt(np.pi)), rtol=1e-5)
    # A z-directed light through the l=1 band: irradiance differs front/back
    # by 2 * (2 pi / 3) * c1 * coefficient, and is symmetric sideways.
    gamma = np.zeros((1, 3, 9), np.float32)
    gamma[..., 2] = 0.3
    lit = layer(albedo, normals, tf.constant(gamma.reshape(1, 27))).numpy()
    c1 = np.sqrt(3 / (4 * np.pi))
    np.testing.assert_allclose(lit[0, 0] - lit[0, 1], 2 * (2 * np.pi / 3) * c1 * 0.3, rtol=1e-5)
    np.testing.assert_allclose(lit[0, 2], ambient[0, 2], rtol=1e-5)


def test_lighting_gradients_match_numeric_including_poles():
    layer = SphericalHarmonicsLighting()
    rng = np.random.default_rng(1)
    normals = rng.normal(size=(2, 5, 3))
    normals[0, 0] = [0, 0, 1.0]  # exactly +z, where the angular form has NaN gradients
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    args = [rng.uniform(0.2, 0.9, (2, 5, 3)), normals, rng.normal(scale=0.3, size=(2, 27))]
    assert_gradients_match(lambda a, n, g: layer(a, n, g), args)
