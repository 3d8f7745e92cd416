"""The training input pipeline for every data source."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from tfface.data.augment import augment as augment_fn


def pack_labels(landmarks, params=None):
    """The labels of an element or batch: ``landmarks``, or ``(landmarks,
    params)`` where the true params are known (synthetic faces)."""
    return landmarks if params is None else (landmarks, params)


def unpack_batch(data) -> Tuple[tf.Tensor, tf.Tensor, Optional[tf.Tensor]]:
    """An element or batch ``(image, labels)`` of :func:`pack_labels` ->
    ``(image, landmarks, params or None)``."""
    image, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
    if isinstance(labels, (tuple, list)):
        return image, labels[0], labels[1]
    return image, labels, None


def arrays_dataset(arrays: Dict[str, np.ndarray], batch_size: int, seed: int = 0,
                   augment: bool = False, shuffle: bool = True,
                   repeat: bool = True) -> tf.data.Dataset:
    """``(image [B, S, S, 3] 0..255, landmarks [B, 68, 2])`` batches from
    arrays; ``(image, (landmarks, params [B, P]))`` where ``arrays`` has the
    true ``params`` (synthetic faces).

    Shuffling and augmentation are deterministic for a given ``seed``.
    """
    labels = pack_labels(arrays["landmarks"], arrays.get("params"))
    data = tf.data.Dataset.from_tensor_slices((arrays["image"], labels))
    if shuffle:
        data = data.shuffle(len(arrays["image"]), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        data = data.repeat()
    return augment_and_batch(data, batch_size, seed, augment)


def augment_and_batch(data: tf.data.Dataset, batch_size: int, seed: int,
                      augment: bool) -> tf.data.Dataset:
    """Optionally augment ``(image, landmarks)`` or ``(image, (landmarks,
    params))`` elements (seeded by their index; a similarity transform moves
    image and landmarks, not the face's shape), then batch (dropping the
    remainder) and prefetch."""
    if augment:
        def augmented(index, element):
            image, landmarks, params = unpack_batch(element)
            image, landmarks = augment_fn(image, landmarks,
                                          tf.stack([tf.cast(index, tf.int32), seed]))
            return image, pack_labels(landmarks, params)

        data = data.enumerate().map(augmented, num_parallel_calls=tf.data.AUTOTUNE)
    return data.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
