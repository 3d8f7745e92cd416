"""The training input pipeline for every data source."""

from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Optional

import keras
import numpy as np
import tensorflow as tf

from tfface.data.augment import augment as augment_fn


LABELS = ("landmarks", "params", "landmark_vertices", "landmark_mask", "person",
          "shape_weight", "distill_weight")
"""What an element's labels may carry: ``landmarks`` ``[68, 2]`` (always),
the target ``params`` ``[P]`` where known (the true ones of synthetic faces,
a landmark fit's of photos), ``landmark_vertices`` ``[68]``, the model
vertices the landmarks mark (-1: the model's own landmark vertex; annotated
photos, whose jaw points follow their annotation's convention,
:data:`tfface.landmark_sources.JAW_MODES`), and for batches that mix photo
sets with synthetic faces (:func:`mixed_dataset`): ``landmark_mask``
``[68]`` (1: annotated), ``person`` (-1: unknown), ``shape_weight`` (1:
``params`` are the true face) and ``distill_weight`` (1: ``params`` are a
teacher's to follow)."""


class Batch(NamedTuple):
    """An element or batch, unpacked: ``image``, ``landmarks`` and, where the
    data has them, the other :data:`LABELS` (else None)."""

    image: tf.Tensor
    landmarks: tf.Tensor
    params: Optional[tf.Tensor] = None
    landmark_vertices: Optional[tf.Tensor] = None
    landmark_mask: Optional[tf.Tensor] = None
    person: Optional[tf.Tensor] = None
    shape_weight: Optional[tf.Tensor] = None
    distill_weight: Optional[tf.Tensor] = None

    def labels(self) -> Dict[str, tf.Tensor]:
        """The labels beyond landmarks, params and vertices that this batch has."""
        return {name: getattr(self, name) for name in LABELS[3:]
                if getattr(self, name) is not None}


def pack_labels(landmarks, params=None, landmark_vertices=None, **labels):
    """The labels of an element or batch: ``landmarks`` alone, or a dict of
    the :data:`LABELS` it has."""
    values = {"landmarks": landmarks, "params": params, "landmark_vertices": landmark_vertices,
              **labels}
    if all(value is None for name, value in values.items() if name != "landmarks"):
        return landmarks
    return {name: values[name] for name in LABELS if values.get(name) is not None}


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
    labels = pack_labels(**{name: arrays.get(name) for name in LABELS})
    data = tf.data.Dataset.from_tensor_slices((arrays["image"], labels))
    if shuffle:
        data = data.shuffle(len(arrays["image"]), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        data = data.repeat()
    return augment_and_batch(data, batch_size, seed, augment)


def augment_and_batch(data: tf.data.Dataset, batch_size: int, seed: int,
                      augment: bool, max_rotation_degrees: float = 8.0) -> tf.data.Dataset:
    """Optionally augment ``(image, labels)`` elements (:func:`pack_labels`;
    seeded by their index; a similarity transform, rotating by up to
    ``max_rotation_degrees``, moves image and landmarks, not the face's
    shape nor the vertices the landmarks mark), then batch (dropping the
    remainder) and prefetch."""
    if augment:
        def augmented(index, element):
            batch = unpack_batch(element)
            image, landmarks = augment_fn(batch.image, batch.landmarks,
                                          tf.stack([tf.cast(index, tf.int32), seed]),
                                          max_rotation_degrees=max_rotation_degrees)
            return image, pack_labels(landmarks, batch.params, batch.landmark_vertices,
                                      **batch.labels())

        data = data.enumerate().map(augmented, num_parallel_calls=tf.data.AUTOTUNE)
    return data.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def photo_pairs(person: np.ndarray, batch: int, seed: int,
                paired: float = 0.5) -> Callable[[int], np.ndarray]:
    """``draw(k)``: the example indices ``[batch]`` of photo batch ``k``, from
    its own seeded generator (a resumed run draws the same), in pairs: two
    photos of one person (of those in ``person`` ``[N]`` with several;
    negative: unknown) with probability ``paired``, else two at random."""
    if batch % 2:
        raise ValueError(f"photo batches pair photos: batch {batch} is odd")
    groups = [np.flatnonzero(person == p) for p in np.unique(person[person >= 0])]
    groups = [group for group in groups if len(group) > 1]

    def draw(k: int) -> np.ndarray:
        rng = np.random.default_rng([seed, k])
        order = []
        for _ in range(batch // 2):
            if groups and rng.random() < paired:
                order += list(rng.choice(groups[rng.integers(len(groups))], 2, replace=False))
            else:
                order += list(rng.integers(len(person), size=2))
        return np.asarray(order, np.int64)

    return draw


def mixed_dataset(synthetic: Dict[str, np.ndarray], photos: Dict[str, np.ndarray],
                  batch_size: int, synthetic_share: float, seed: int, steps: int,
                  start: int = 0, augment: bool = True) -> tf.data.Dataset:
    """Batches of photo-like synthetic faces and real photos together, the
    synthetic ones ``synthetic_share`` of each, from step ``start`` to
    ``steps``: ``synthetic`` arrays (``image``, ``landmarks``, true
    ``params``) and ``photos`` arrays (:func:`tfface.data.photo_sets.photo_arrays`)
    with every label of :data:`LABELS`; photos come in pairs
    (:func:`photo_pairs`) and are not rotated by augmentation (their
    landmark fit's head rotation is a distillation target)."""
    count = len(synthetic["image"])
    n_synthetic = int(round(batch_size * synthetic_share))
    n_photos = batch_size - n_synthetic
    synthetic = {**synthetic,
                 "landmark_vertices": np.full((count, 68), -1, np.int64),
                 "landmark_mask": np.ones((count, 68), np.float32),
                 "person": np.full(count, -1, np.int64),
                 "shape_weight": np.ones(count, np.float32),
                 "distill_weight": np.zeros(count, np.float32)}
    photos = {**photos, "shape_weight": np.zeros(len(photos["image"]), np.float32)}
    draw = photo_pairs(photos["person"], n_photos, seed)

    def photo_elements():
        for k in range(start, steps):
            for i in draw(k):
                yield photos["image"][i], {name: photos[name][i] for name in LABELS}

    signature = (tf.TensorSpec(photos["image"].shape[1:], tf.uint8),
                 {name: tf.TensorSpec(photos[name].shape[1:], tf.as_dtype(photos[name].dtype))
                  for name in LABELS})
    real = tf.data.Dataset.from_generator(photo_elements, output_signature=signature)
    real = real.map(lambda image, labels: (tf.cast(image, tf.float32), labels))
    real = augment_and_batch(real, n_photos, seed + 1, augment, max_rotation_degrees=0.0)
    parts = [real]  # photos first: TensorBoard's preview shows the first examples
    if n_synthetic:
        parts.append(arrays_dataset(synthetic, n_synthetic, seed, augment).skip(start))
    joined = tf.data.Dataset.zip(tuple(parts))
    return joined.map(lambda *batches: tf.nest.map_structure(
        lambda *parts: tf.concat([tf.cast(p, parts[0].dtype) for p in parts], 0), *batches))

