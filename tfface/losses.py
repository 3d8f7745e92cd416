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
                  weights: Optional[Sequence[float]] = None,
                  mask: Optional[tf.Tensor] = None) -> tf.Tensor:
    """Weighted mean squared 2D landmark distance, in image-size units.

    Args:
      predicted: ``[B, 68, 2]`` projected model landmarks, pixels.
      target: ``[B, 68, 2]`` annotated landmarks, pixels.
      image_size: pixels; distances are divided by it.
      weights: ``[68]`` per-point weights (default :func:`default_landmark_weights`).
      mask: ``[B, 68]`` 1 where a point is annotated, 0 where not (a
        profile's hidden half, a set with fewer points); a masked point
        adds exactly 0 whatever its coordinates (even NaN), and a face
        without points adds 0. None: every point counts.

    Returns:
      Scalar: ``mean_b sum_i m_bi w_i |p_bi - t_bi|^2 / sum_i m_bi w_i / image_size^2``.
    """
    check_shape(predicted, "landmark_loss: predicted", ("B", NUM_LANDMARKS, 2))
    check_shape(target, "landmark_loss: target", ("B", NUM_LANDMARKS, 2))
    w = tf.constant(default_landmark_weights() if weights is None else weights, tf.float32)
    if mask is None:
        squared = tf.reduce_sum(tf.square((predicted - target) / image_size), -1)  # [B, 68]
        return tf.reduce_mean(tf.reduce_sum(squared * w, -1) / tf.reduce_sum(w))
    check_shape(mask, "landmark_loss: mask", ("B", NUM_LANDMARKS))
    seen = tf.cast(mask, tf.float32) > 0
    # masked targets are replaced before any arithmetic, so they cannot leak in
    target = tf.where(seen[..., None], target, tf.stop_gradient(predicted))
    squared = tf.reduce_sum(tf.square((predicted - target) / image_size), -1)
    point_weights = tf.where(seen, w * tf.cast(mask, tf.float32), 0.0)  # [B, 68]
    total = tf.reduce_sum(point_weights, -1)
    per_face = tf.math.divide_no_nan(tf.reduce_sum(squared * point_weights, -1), total)
    return tf.reduce_mean(per_face)


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


def shape_loss(vertices: tf.Tensor, target: tf.Tensor, scale: float,
               example_weights: Optional[tf.Tensor] = None) -> tf.Tensor:
    """Mean squared vertex distance between two model-space shapes, in units
    of ``scale`` (e.g. the mean face's width): supervision where the true
    shape is known (synthetic faces).

    Args:
      vertices: predicted ``[B, V, 3]`` (before pose).
      target: true ``[B, V, 3]``.
      scale: length unit, in the vertices' units.
      example_weights: ``[B]`` 1 where ``target`` is a true shape, 0 where
        not (photos in a batch mixed with synthetic faces); None: all 1.

    Returns:
      Scalar ``mean_{b,v} |vertices - target|^2 / scale^2`` (the mean over
      the examples weighted by ``example_weights``; 0 when all are 0).
    """
    check_shape(vertices, "shape_loss: vertices", ("B", "V", 3))
    check_shape(target, "shape_loss: target", ("B", "V", 3))
    squared = tf.reduce_mean(tf.reduce_sum(tf.square((vertices - target) / scale), -1), -1)
    if example_weights is None:
        return tf.reduce_mean(squared)
    check_shape(example_weights, "shape_loss: example_weights", ("B",))
    weights = tf.cast(example_weights, tf.float32)
    return tf.math.divide_no_nan(tf.reduce_sum(weights * squared), tf.reduce_sum(weights))


def identity_consistency_loss(identity: tf.Tensor, person: tf.Tensor) -> tf.Tensor:
    """Mean squared difference of the identity codes of photos of one person.

    Multi-view consistency: the photos of one person (frontal and profile)
    share one face, so their identity codes should agree.

    Args:
      identity: ``[B, K]`` identity coefficients.
      person: ``[B]`` integer person ids; negative: unknown (never paired).

    Returns:
      Scalar: the mean of ``|a_i - a_j|^2`` over pairs ``i < j`` of the batch
      with one person id; 0 when the batch has no such pair.
    """
    check_shape(identity, "identity_consistency_loss: identity", ("B", "K"))
    check_shape(person, "identity_consistency_loss: person", ("B",))
    person = tf.cast(person, tf.int64)
    same = tf.equal(person[:, None], person[None, :]) & (person[:, None] >= 0)
    pairs = tf.cast(tf.linalg.band_part(tf.cast(same, tf.int32), 0, -1)
                    - tf.linalg.band_part(tf.cast(same, tf.int32), 0, 0), tf.float32)  # i < j
    squared = tf.reduce_sum(tf.square(identity[:, None, :] - identity[None, :, :]), -1)
    return tf.math.divide_no_nan(tf.reduce_sum(pairs * squared), tf.reduce_sum(pairs))


def distillation_loss(params: tf.Tensor, target: tf.Tensor, layout: FaceParams,
                      weights: Mapping[str, float], example_weights: tf.Tensor) -> tf.Tensor:
    """Weighted squared difference of coefficient groups from a teacher's params.

    Args:
      params: ``[B, P]`` predicted.
      target: ``[B, P]`` the teacher's (e.g. a landmark fit's, or the true
        face's) params.
      layout: the FaceParams layout of both.
      weights: group name -> weight (e.g. ``{"rotation": 1, "identity": 0.1}``).
      example_weights: ``[B]`` how much each example's target counts (0: none).

    Returns:
      Scalar ``sum_b e_b sum_g w_g |params_bg - target_bg|^2 / sum_b e_b``;
      0 when every ``e_b`` is 0.
    """
    check_shape(params, "distillation_loss: params", ("B", layout.size))
    check_shape(target, "distillation_loss: target", ("B", layout.size))
    check_shape(example_weights, "distillation_loss: example_weights", ("B",))
    predicted, teacher = layout.split(params), layout.split(tf.cast(target, params.dtype))
    total = tf.zeros([tf.shape(params)[0]])
    for name, weight in weights.items():
        if name not in predicted:
            raise ValueError(f"distillation: unknown group '{name}'")
        total += weight * tf.reduce_sum(tf.square(predicted[name] - teacher[name]), -1)
    example_weights = tf.cast(example_weights, tf.float32)
    return tf.math.divide_no_nan(tf.reduce_sum(example_weights * total),
                                 tf.reduce_sum(example_weights))

