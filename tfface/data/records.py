"""Sharded TFRecords of aligned face crops with 68 landmarks.

Each ``tf.train.Example``: ``image`` (PNG bytes, RGB, S x S), ``landmarks``
(136 floats, x y per point, crop pixels), ``source`` (path of the photo),
``transform`` (6 floats: the 2x3 similarity from photo to crop pixels),
``landmark_vertices`` (68 ints: the model vertices the landmarks mark, by
their annotation's jaw convention; -1, and in older shards: the model's own).
Shards are ``shard-NNNNN.tfrecord``; each is written to a temporary name and
renamed when complete, so a shard on disk is never half-written.
"""

from __future__ import annotations

import glob
import os
from typing import Dict, Iterable, List, Optional, Tuple

import cv2
import numpy as np
import tensorflow as tf

from tfface.data.pipeline import augment_and_batch, pack_labels
from tfface.errors import TfFaceError
from tfface.io_utils import atomic_output, out_of_space
from tfface.morphable.model import NUM_LANDMARKS

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "landmarks": tf.io.FixedLenFeature([136], tf.float32),
    "source": tf.io.FixedLenFeature([], tf.string, default_value=b""),
    "transform": tf.io.FixedLenFeature([6], tf.float32, default_value=[1, 0, 0, 0, 1, 0]),
    "landmark_vertices": tf.io.FixedLenFeature([NUM_LANDMARKS], tf.int64,
                                               default_value=[-1] * NUM_LANDMARKS),
}


def make_example(image_rgb: np.ndarray, landmarks: np.ndarray, source: str = "",
                 transform: np.ndarray = np.eye(2, 3),
                 landmark_vertices: Optional[np.ndarray] = None) -> bytes:
    """Serialise one crop (uint8 ``[S, S, 3]`` RGB), its ``[68, 2]`` landmarks
    and the ``[68]`` vertices they mark (None: the model's own)."""
    if landmark_vertices is None:
        landmark_vertices = np.full(NUM_LANDMARKS, -1)
    ok, png = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("cannot encode crop as PNG")
    feature = {
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[png.tobytes()])),
        "landmarks": tf.train.Feature(float_list=tf.train.FloatList(
            value=np.asarray(landmarks, np.float32).reshape(-1))),
        "source": tf.train.Feature(bytes_list=tf.train.BytesList(value=[source.encode()])),
        "transform": tf.train.Feature(float_list=tf.train.FloatList(
            value=np.asarray(transform, np.float32).reshape(-1))),
        "landmark_vertices": tf.train.Feature(int64_list=tf.train.Int64List(
            value=np.asarray(landmark_vertices, np.int64).reshape(-1))),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def shard_path(folder: str, index: int) -> str:
    return os.path.join(folder, f"shard-{index:05d}.tfrecord")


def write_shard(path: str, examples: Iterable[bytes]) -> int:
    """Write serialized examples to ``path`` atomically; returns the count."""
    count = 0
    try:
        with atomic_output(path) as tmp, tf.io.TFRecordWriter(tmp) as writer:
            for example in examples:
                writer.write(example)
                count += 1
    except tf.errors.ResourceExhaustedError:  # TensorFlow's own file writer: a full disk
        raise out_of_space(path) from None
    return count


def list_shards(folder: str) -> List[str]:
    shards = sorted(glob.glob(os.path.join(folder, "shard-*.tfrecord")))
    if not shards:
        raise TfFaceError(f"{folder}: no shard-*.tfrecord files; create them with "
                          "`tfface prepare` or check data.path")
    return shards


def parse_example(serialized: tf.Tensor, size: int) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
    """-> ``(image [S, S, 3] float32 0..255, labels)``, resized to ``size``;
    labels (:func:`tfface.data.pipeline.pack_labels`): ``landmarks``
    ``[68, 2]`` and ``landmark_vertices`` ``[68]``."""
    example = tf.io.parse_single_example(serialized, FEATURES)
    image = tf.io.decode_png(example["image"], channels=3)
    landmarks = tf.reshape(example["landmarks"], [NUM_LANDMARKS, 2])
    source = tf.cast(tf.shape(image)[:2], tf.float32)
    image = tf.image.resize(tf.cast(image, tf.float32), [size, size])
    ratio = tf.stack([size / source[1], size / source[0]])
    landmarks = (landmarks + 0.5) * ratio - 0.5
    return image, pack_labels(landmarks, landmark_vertices=example["landmark_vertices"])


def records_dataset(folder: str, size: int, batch_size: int, seed: int = 0,
                    augment: bool = True, repeat: bool = True) -> tf.data.Dataset:
    """Shuffled, augmented ``(image, labels)`` batches from the shards in
    ``folder`` (:func:`parse_example`)."""
    files = tf.data.Dataset.from_tensor_slices(list_shards(folder)).shuffle(1000, seed=seed)
    data = files.interleave(tf.data.TFRecordDataset, num_parallel_calls=tf.data.AUTOTUNE,
                            deterministic=True)
    data = data.map(lambda s: parse_example(s, size), num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        data = data.repeat()
    return augment_and_batch(data.shuffle(2048, seed=seed), batch_size, seed, augment)
