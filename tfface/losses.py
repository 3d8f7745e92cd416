"""The three self-supervised losses: landmark, photometric, regularisation."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from tfface.loss_weights import DEFAULT_LANDMARK_EMPHASIS
from tfface.morphable.model import NUM_LANDMARKS
from tfface.params import FaceParams
from tfface.shapes import check_shape

NOSE_BRIDGE = tuple(range(27, 31))
INNER_MOUTH = tuple(range(60, 68))


def default_landmark_weights(emphasis: float = DEFAULT_LANDMARK_EMPHASIS) -> np.ndarray:
    """Per-point weights ``[68]``: 1, and ``emphasis`` on the nose bridge
    (27-30) and inner mouth (60-67) (Deep3DFaceRecon uses 20)."""
    weights = np.ones(NUM_LANDMARKS, np.float32)
    weights[list(NOSE_BRIDGE + INNER_MOUTH)] = emphasis
    return weights


def landmark_loss(predicted: tf.Tensor, target: tf.Tensor, image_size: float,
                  weights: Optional[Sequence[float]] = None) -> tf.Tensor:
    """Weighted mean squared 2D landmark distance, in image-size units.

    Args:
      predicted: ``[B, 68, 2]`` projected model landmarks, pixels.
      target: ``[B, 68, 2]`` annotated landmarks, pixels.
      image_size: pixels; distances are divided by it.
      weights: ``[68]`` per-point weights (default :func:`default_landmark_weights`).

    Returns:
      Scalar: ``mean_b sum_i w_i |p_bi - t_bi|^2 / sum_i w_i / image_size^2``.
    """
    check_shape(predicted, "landmark_loss: predicted", ("B", NUM_LANDMARKS, 2))
    check_shape(target, "landmark_loss: target", ("B", NUM_LANDMARKS, 2))
    w = tf.constant(default_landmark_weights() if weights is None else weights, tf.float32)
    squared = tf.reduce_sum(tf.square((predicted - target) / image_size), -1)  # [B, 68]
    return tf.reduce_mean(tf.reduce_sum(squared * w, -1) / tf.reduce_sum(w))


def photometric_loss(rendered: tf.Tensor, target: tf.Tensor, mask: tf.Tensor,
                     robust: bool = True, pixel_weights: Optional[tf.Tensor] = None) -> tf.Tensor:
    """Colour difference over every pixel the rendered face covers.

    Args:
      rendered: ``[B, H, W, 3]`` render, 0..1.
      target: ``[B, H, W, 3]`` input image, 0..1.
      mask: ``[B, H, W, 1]`` face coverage (0..1).
      robust: per-pixel L2 norm summed (L2,1, Deep3DFaceRecon) instead of the
        squared L2 norm.
      pixel_weights: optional ``[B, H, W, 1]`` (e.g. skin probability).

    Returns:
      Scalar: ``sum(m * d) / sum(m)`` with ``d = |r - t|`` (robust) or ``|r - t|^2``.
    """
    check_shape(rendered, "photometric_loss: rendered", ("B", "H", "W", 3))
    check_shape(target, "photometric_loss: target", ("B", "H", "W", 3))
    check_shape(mask, "photometric_loss: mask", ("B", "H", "W", 1))
    squared = tf.reduce_sum(tf.square(rendered - target), -1, keepdims=True)
    per_pixel = tf.sqrt(squared + 1e-8) if robust else squared
    weight = mask if pixel_weights is None else mask * pixel_weights
    return tf.reduce_sum(per_pixel * weight) / (tf.reduce_sum(weight) + 1e-6)


def regularization_loss(params: tf.Tensor, layout: FaceParams,
                        weights: Mapping[str, float]) -> tf.Tensor:
    """Weighted squared norms of coefficient groups, averaged over the batch.

    Args:
      params: ``[B, P]``.
      layout: the FaceParams layout of ``params``.
      weights: group name -> weight (e.g. ``{"identity": 1.0, "expression": 0.8,
        "albedo": 1.7e-2}``); groups not named are not regularised.

    Returns:
      Scalar ``mean_b sum_g w_g |params_bg|^2``.
    """
    check_shape(params, "regularization_loss: params", ("B", layout.size))
    groups = layout.split(params)
    total = tf.zeros([tf.shape(params)[0]])
    for name, weight in weights.items():
        if name not in groups:
            raise ValueError(f"regularization: unknown group '{name}'")
        total += weight * tf.reduce_sum(tf.square(groups[name]), -1)
    return tf.reduce_mean(total)


def shape_loss(vertices: tf.Tensor, target: tf.Tensor, scale: float) -> tf.Tensor:
    """Mean squared vertex distance between two model-space shapes, in units
    of ``scale`` (e.g. the mean face's width): supervision where the true
    shape is known (synthetic faces).

    Args:
      vertices: predicted ``[B, V, 3]`` (before pose).
      target: true ``[B, V, 3]``.
      scale: length unit, in the vertices' units.

    Returns:
      Scalar ``mean_{b,v} |vertices - target|^2 / scale^2``.
    """
    check_shape(vertices, "shape_loss: vertices", ("B", "V", 3))
    check_shape(target, "shape_loss: target", ("B", "V", 3))
    squared = tf.reduce_sum(tf.square((vertices - target) / scale), -1)
    return tf.reduce_mean(squared)
