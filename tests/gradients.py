"""Numeric (central-difference) vs tf.GradientTape gradient check."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf


def assert_gradients_match(fn: Callable, args: Sequence[np.ndarray], eps: float = 1e-3,
                           rtol: float = 2e-2, atol: float = 1e-3, seed: int = 0,
                           check: Sequence[int] | None = None) -> None:
    """Compare d(sum(w * fn(*args)))/d(arg) from the tape with finite differences.

    ``w`` is a fixed random weighting so every output element matters.
    Arguments listed in ``check`` (default: all) are compared, element by element.
    """
    args = [np.asarray(a, np.float32) for a in args]
    check = range(len(args)) if check is None else check
    weights = None

    def scalar(values):
        nonlocal weights
        out = fn(*[tf.constant(v) for v in values])
        out = tf.concat([tf.reshape(tf.cast(o, tf.float64), [-1]) for o in tf.nest.flatten(out)], 0)
        if weights is None:
            weights = np.random.default_rng(seed).normal(size=out.shape[0])
        return float(tf.reduce_sum(out * weights))

    tensors = [tf.constant(a) for a in args]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        out = fn(*tensors)
        scalar(args)  # fixes the weights
        flat = tf.concat([tf.reshape(tf.cast(o, tf.float64), [-1]) for o in tf.nest.flatten(out)], 0)
        total = tf.reduce_sum(flat * weights)
    analytic = tape.gradient(total, tensors)
    for i in check:
        numeric = np.zeros(args[i].size)
        for j in range(args[i].size):
            plus = [a.copy() for a in args]
            minus = [a.copy() for a in args]
            plus[i].flat[j] += eps
            minus[i].flat[j] -= eps
            numeric[j] = (scalar(plus) - scalar(minus)) / (2 * eps)
        got = np.zeros(args[i].size) if analytic[i] is None else \
            np.asarray(tf.convert_to_tensor(analytic[i])).reshape(-1)
        assert np.all(np.isfinite(got)), f"argument {i}: non-finite tape gradient"
        np.testing.assert_allclose(got, numeric, rtol=rtol, atol=atol * max(1.0, np.abs(numeric).max()),
                                   err_msg=f"gradient of argument {i}")
