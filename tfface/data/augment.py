"""Augmentation with landmarks kept consistent; deterministic given a seed."""

from __future__ import annotations

import math

import tensorflow as tf


def similarity_matrix(scale, angle, shift_x, shift_y, center) -> tf.Tensor:
    """``[3, 3]`` map from source to output pixels: rotate/scale about ``center``."""
    c, s = scale * tf.cos(angle), scale * tf.sin(angle)
    cx, cy = center
    return tf.stack([
        tf.stack([c, -s, cx - c * cx + s * cy + shift_x]),
        tf.stack([s, c, cy - s * cx - c * cy + shift_y]),
        tf.constant([0.0, 0.0, 1.0]),
    ])


def augment(image: tf.Tensor, landmarks: tf.Tensor, seed: tf.Tensor,
            max_scale: float = 0.05, max_shift: float = 0.04,
            max_rotation_degrees: float = 8.0) -> tuple:
    """Photometric jitter and a small random similarity transform.

    Args:
      image: ``[S, S, 3]`` float 0..255.
      landmarks: ``[68, 2]`` pixels (centres at integers).
      seed: ``[2]`` int stateless seed (e.g. from the element index).

    Returns:
      ``(image, landmarks)`` transformed consistently.
    """
    size = tf.cast(tf.shape(image)[0], tf.float32)
    u = tf.random.stateless_uniform([7], seed, -1.0, 1.0)
    scale = 1.0 + max_scale * u[0]
    angle = math.radians(max_rotation_degrees) * u[1]
    matrix = similarity_matrix(scale, angle, max_shift * size * u[2], max_shift * size * u[3],
                               ((size - 1) / 2, (size - 1) / 2))
    inverse = tf.linalg.inv(matrix)
    transform = tf.reshape(inverse, [-1])[:8][None]  # output -> input, as the op expects
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform, output_shape=tf.shape(image)[:2],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")[0]
    moved = tf.matmul(landmarks, matrix[:2, :2], transpose_b=True) + matrix[:2, 2]
    brightness, contrast = 20.0 * u[4], 1.0 + 0.15 * u[5]
    mean = tf.reduce_mean(warped, axis=[0, 1], keepdims=True)
    jittered = (warped - mean) * contrast + mean + brightness
    gray = tf.reduce_mean(jittered, -1, keepdims=True)
    jittered = gray + (jittered - gray) * (1.0 + 0.2 * u[6])
    return tf.clip_by_value(jittered, 0.0, 255.0), moved
