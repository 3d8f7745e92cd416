"""The training input pipeline for every data source."""

from __future__ import annotations

from typing import Dict

import numpy as np
import tensorflow as tf

from tfface.data.augment import augment as augment_fn


def arrays_dataset(arrays: Dict[str, np.ndarray], batch_size: int, seed: int = 0,
                   augment: bool = False, shuffle: bool = True,
                   repeat: bool = True) -> tf.data.Dataset:
    """``(image [B, S, S, 3] 0..255, landmarks [B, 68, 2])`` batches from arrays.

    Shuffling and augmentation are deterministic for a given ``seed``.
    """
    data = tf.data.Dataset.from_tensor_slices((arrays["image"], arrays["landmarks"]))
    if shuffle:
        data = data.shuffle(len(arrays["image"]), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        data = data.repeat()
    return augment_and_batch(data, batch_size, seed, augment)


def augment_and_batch(data: tf.data.Dataset, batch_size: int, seed: int,
                      augment: bool) -> tf.data.Dataset:
    """Optionally augment ``(image, landmarks)`` elements (seeded by their
    index), then batch (dropping the remainder) and prefetch."""
    if augment:
        data = data.enumerate().map(
            lambda i, pair: augment_fn(pair[0], pair[1], tf.stack([tf.cast(i, tf.int32), seed])),
            num_parallel_calls=tf.data.AUTOTUNE)
    return data.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
