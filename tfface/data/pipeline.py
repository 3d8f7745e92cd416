"""The training input pipeline for every data source."""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional

import keras
import numpy as np
import tensorflow as tf

from tfface.data.augment import augment as augment_fn


LABELS = ("landmarks", "params", "landmark_vertices")
"""What an element's labels may carry: ``landmarks`` ``[68, 2]`` (always),
the true ``params`` ``[P]`` where known (synthetic faces) and
``landmark_vertices`` ``[68]``, the model vertices the landmarks mark (-1:
the model's own landmark vertex; annotated photos, whose jaw points follow
their annotation's convention, :data:`tfface.landmark_sources.JAW_MODES`)."""


class Batch(NamedTuple):
    """An element or batch, unpacked: ``image``, ``landmarks`` and, where the
    data has them, ``params`` and ``landmark_vertices`` (else None)."""

    image: tf.Tensor
    landmarks: tf.Tensor
    params: Optional[tf.Tensor] = None
    landmark_vertices: Optional[tf.Tensor] = None


def pack_labels(landmarks, params=None, landmark_vertices=None):
    """The labels of an element or batch: ``landmarks`` alone, or a dict of
    the :data:`LABELS` it has."""
    if params is None and landmark_vertices is None:
        return landmarks
    labels = zip(LABELS, (landmarks, params, landmark_vertices))
    return {name: value for name, value in labels if value is not None}


def unpack_batch(data) -> Batch:
    """An element or batch ``(image, labels)`` of :func:`pack_labels` -> :class:`Batch`."""
    image, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
    if isinstance(labels, dict):
        return Batch(image, **labels)
    return Batch(image, labels)


def arrays_dataset(arrays: Dict[str, np.ndarray], batch_size: int, seed: int = 0,
                   augment: bool = False, shuffle: bool = True,
                   repeat: bool = True) -> tf.data.Dataset:
    """``(image [B, S, S, 3] 0..255, labels)`` batches from arrays: labels
    (:func:`pack_labels`) of the :data:`LABELS` that ``arrays`` has
    (``landmarks`` ``[N, 68, 2]``; ``params`` ``[N, P]`` of synthetic faces;
    ``landmark_vertices`` ``[N, 68]`` of annotated photos).

    Shuffling and augmentation are deterministic for a given ``seed``.
    """
    labels = pack_labels(*(arrays.get(name) for name in LABELS))
    data = tf.data.Dataset.from_tensor_slices((arrays["image"], labels))
    if shuffle:
        data = data.shuffle(len(arrays["image"]), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        data = data.repeat()
    return augment_and_batch(data, batch_size, seed, augment)


def augment_and_batch(data: tf.data.Dataset, batch_size: int, seed: int,
                      augment: bool) -> tf.data.Dataset:
    """Optionally augment ``(image, labels)`` elements (:func:`pack_labels`;
    seeded by their index; a similarity transform moves image and
    landmarks, not the face's shape nor the vertices the landmarks mark),
    then batch (dropping the remainder) and prefetch."""
    if augment:
        def augmented(index, element):
            batch = unpack_batch(element)
            image, landmarks = augment_fn(batch.image, batch.landmarks,
                                          tf.stack([tf.cast(index, tf.int32), seed]))
            return image, pack_labels(landmarks, batch.params, batch.landmark_vertices)

        data = data.enumerate().map(augmented, num_parallel_calls=tf.data.AUTOTUNE)
    return data.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
