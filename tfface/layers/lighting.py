"""Second-order spherical-harmonics Lambertian lighting."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from tfface.layers.serialization import PACKAGE
from tfface.params import COLOR_CHANNELS, SH_COEFFICIENTS
from tfface.shapes import check_shape

# Real SH normalisation constants, bands l = 0, 1, 2.
_C0 = 0.5 * math.sqrt(1.0 / math.pi)
_C1 = math.sqrt(3.0 / (4.0 * math.pi))
_C2 = 0.5 * math.sqrt(15.0 / math.pi)
_C20 = 0.25 * math.sqrt(5.0 / math.pi)
_C22 = 0.25 * math.sqrt(15.0 / math.pi)

LAMBERTIAN_BAND_FACTORS = (math.pi, 2.0 * math.pi / 3.0, math.pi / 4.0)
"""Clamped-cosine convolution factors A_l (Ramamoorthi & Hanrahan 2001)."""

AMBIENT_INIT = 0.8
"""Added to the l=0 coefficient of each channel (Deep3DFaceRecon's init_lit)."""


def sh_basis(normals: tf.Tensor) -> tf.Tensor:
    """Real spherical harmonics Y_lm, l <= 2, of unit directions.

    Order: ``Y00, Y1-1, Y10, Y11, Y2-2, Y2-1, Y20, Y21, Y22`` (no Condon-Shortley
    phase): ``Y1-1 = c1*y``, ``Y10 = c1*z``, ``Y11 = c1*x``, ... Closed form on
    Cartesian coordinates, so gradients are finite everywhere (unlike the
    spherical-angle form at the poles).

    Args:
      normals: ``[..., 3]`` unit vectors.

    Returns:
      ``[..., 9]``.
    """
    x, y, z = tf.unstack(normals, axis=-1)
    return tf.stack([
        tf.fill(tf.shape(x), _C0),
        _C1 * y, _C1 * z, _C1 * x,
        _C2 * x * y, _C2 * y * z, _C20 * (3.0 * z * z - 1.0), _C2 * x * z,
        _C22 * (x * x - y * y),
    ], axis=-1)


def irradiance_basis(normals: tf.Tensor) -> tf.Tensor:
    """SH basis convolved with the clamped cosine: ``A_l * Y_lm``; ``[..., 9]``."""
    factors = np.repeat(LAMBERTIAN_BAND_FACTORS, [1, 3, 5]).astype(np.float32)
    return sh_basis(normals) * factors


@keras.saving.register_keras_serializable(package=PACKAGE)
class SphericalHarmonicsLighting(keras.layers.Layer):
    """Lambertian shading under 2nd-order SH light, 9 coefficients x RGB.

    colour = albedo * (irradiance_basis(normal) . (gamma + ambient))

    where gamma ``[B, 27]`` is laid out ``[r0..r8, g0..g8, b0..b8]`` and
    ``ambient`` adds :data:`AMBIENT_INIT` to each channel's l=0 coefficient,
    so zero illumination parameters give uniform light of irradiance
    ``pi * Y00 * 0.8 ~= 0.71``.

    Inputs: albedo ``[B, V, 3]``, normals ``[B, V, 3]`` (unit, camera/world
    space), illumination ``[B, 27]``. Output: colours ``[B, V, 3]``.
    """

    def __init__(self, ambient: float = AMBIENT_INIT, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ambient = float(ambient)

    def irradiance(self, normals, illumination):
        """Shading ``[B, V, 3]`` (the colour of a white albedo) of unit
        ``normals`` ``[B, V, 3]`` under ``illumination`` ``[B, 27]``."""
        check_shape(normals, "SphericalHarmonicsLighting: normals", ("B", "V", 3))
        check_shape(illumination, "SphericalHarmonicsLighting: illumination",
                    ("B", COLOR_CHANNELS * SH_COEFFICIENTS))
        gamma = tf.reshape(illumination, [-1, COLOR_CHANNELS, SH_COEFFICIENTS])
        gamma = gamma + tf.constant([self.ambient] + [0.0] * (SH_COEFFICIENTS - 1))
        return tf.einsum("bvk,bck->bvc", irradiance_basis(normals), gamma)

    def call(self, albedo, normals, illumination):
        check_shape(albedo, "SphericalHarmonicsLighting: albedo", ("B", "V", COLOR_CHANNELS))
        return albedo * self.irradiance(normals, illumination)

    def compute_output_shape(self, albedo_shape, normals_shape=None, illumination_shape=None):
        return albedo_shape

    def get_config(self):
        return {**super().get_config(), "ambient": self.ambient}
