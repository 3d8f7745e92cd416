"""The training run behind ``train.py``: strategy, data, checkpoints, summaries."""

from __future__ import annotations

import json
import math
import os
import re
import signal
from typing import Any, Dict, Optional

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from tfface.config import DEFAULT_MODEL_NAME, resume_conflicts, run_config
from tfface.data.folder import load_folder
from tfface.data.pipeline import Batch, arrays_dataset, mixed_dataset, unpack_batch
from tfface.data.records import records_dataset
from tfface.data.synthetic import render_synthetic
from tfface.encoders import build_encoder, encoder_file, start_from
from tfface.face_loss import FaceLoss, save_encoder
from tfface.faces.align import mean_face_template
from tfface.fitting.landmarks import LandmarkFitter
from tfface.errors import TfFaceError
from tfface.io_utils import atomic_output, output_folder_for, write_json_atomic
from tfface.layers.renderer import Renderer
from tfface.morphable import load_model
from tfface.overlay import draw_landmarks, to_uint8
from tfface.training.autoencoder import FaceAutoencoder


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``default`` (one device), ``mirrored`` (all local GPUs, or CPU),
    ``multi_worker`` (``TF_CONFIG``)."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def build_model(config: Dict[str, Any], start: bool = True) -> FaceAutoencoder:
    """FaceAutoencoder for a config (call under the strategy's scope); with
    ``start``, its encoder starts from ``model.init_encoder``'s weights, if
    set (not when a checkpoint's will replace them)."""
    spec = config["model"]
    model = load_model(spec["morphable_model"])
    size = int(spec["input_size"])
    renderer = Renderer.from_model(model, (size, size), projection=spec["projection"])
    encoder = build_encoder(renderer.layout, spec["encoder"], size, spec["init_weights"])
    if start and spec["init_encoder"] is not None:
        init = spec["init_encoder"]
        start_from(encoder, encoder_file(None if init == "default" else init,
                                         spec["morphable_model"] or DEFAULT_MODEL_NAME))
    autoencoder = FaceAutoencoder(encoder, renderer, FaceLoss(config["losses"]))
    opt = config["optimizer"]
    rate = float(opt["learning_rate"])
    if opt["schedule"] == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, int(config["schedule"]["steps"]),
                                                      alpha=0.05)
    autoencoder.compile(optimizer=keras.optimizers.Adam(rate))
    autoencoder.optimizer.build(autoencoder.encoder.trainable_variables)
    return autoencoder


def build_dataset(config: Dict[str, Any], renderer: Renderer, start: int = 0,
                  cache_dir: Optional[str] = None) -> tf.data.Dataset:
    """Global-batch ``(image, labels)`` dataset for the configured source
    (:func:`tfface.data.pipeline.pack_labels`: the true params of synthetic
    faces, which the ``shape`` loss term compares with; the vertices that
    annotated photos' landmarks mark), from batch ``start`` on. Photo sets
    (``data.source: photos``) are aligned and fitted once and kept in
    ``cache_dir`` (:data:`PHOTO_CACHE`) for resumed runs."""
    data = config["data"]
    size = renderer.image_size[0]
    if data["source"] == "tfrecord":
        check_shards_model(data["path"], config["model"]["morphable_model"])
        return records_dataset(data["path"], size, data["batch_size"], data["seed"],
                               data["augment"]).skip(start)
    model = load_model(config["model"]["morphable_model"])
    template = mean_face_template(model, renderer.camera.pinhole)
    if data["source"] == "folder":
        arrays = load_folder(data["path"], size, template,
                             LandmarkFitter(model, renderer.camera), data["jaw"])
    else:
        # aligned like photos at inference, so the encoder trains on what it will see
        arrays = render_synthetic(renderer, int(data["synthetic_count"]), seed=data["seed"],
                                  template=template, photo_like=bool(data["photo_like"]))
    if data["source"] == "photos":
        photos = cached_photo_arrays(config, size, cache_dir)
        return mixed_dataset(arrays, photos, data["batch_size"], data["synthetic_share"],
                             data["seed"], int(config["schedule"]["steps"]), start,
                             data["augment"])
    return arrays_dataset(arrays, data["batch_size"], data["seed"], data["augment"]).skip(start)


PHOTO_CACHE = "photo_examples.npz"
"""The aligned, fitted photo examples of a run's photo sets, in its output_dir."""


def cached_photo_arrays(config: Dict[str, Any], size: int,
                        cache_dir: Optional[str]) -> Dict[str, np.ndarray]:
    """:func:`tfface.data.photo_sets.photo_arrays` of the config's
    ``data.photos``, read from ``cache_dir/``:data:`PHOTO_CACHE` when it
    was made for the same sets, size and model, else made (on both cores)
    and written there."""
    from tfface.data.photo_sets import photo_arrays, read_photo_sets
    key = json.dumps([config["data"]["photos"], size, config["model"]["morphable_model"]])
    path = None if cache_dir is None else os.path.join(cache_dir, PHOTO_CACHE)
    if path is not None and os.path.isfile(path):
        with np.load(path) as stored:
            if str(stored["key"]) == key:
                return {name: stored[name] for name in stored.files if name != "key"}
    arrays = photo_arrays(read_photo_sets(config["data"]["photos"]), size,
                          config["model"]["morphable_model"], workers=os.cpu_count() or 1)
    if path is not None:
        with atomic_output(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, key=np.array(key), **arrays)
    return arrays


def check_shards_model(folder: str, morphable_model: Optional[str]) -> None:
    """Refuse shards that ``tfface prepare`` aligned for another morphable
    model (their crops place the face where that model's renderer does)."""
    path = os.path.join(folder, "manifest.json")
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as handle:
        aligned_for = json.load(handle).get("morphable_model")
    wanted = morphable_model or DEFAULT_MODEL_NAME
    if aligned_for is not None and aligned_for != wanted:
        raise TfFaceError(f"{folder}: shards aligned for morphable model '{aligned_for}' but "
                          f"this config trains '{wanted}'; re-run tfface prepare "
                          f"--morphable-model {wanted}")


def summary_image(model: FaceAutoencoder, batch: Batch) -> np.ndarray:
    """``[B, S, 3 S, 3]`` uint8 of a :class:`tfface.data.pipeline.Batch`:
    input | render | overlay (model green, target red)."""
    image, landmarks = batch.image.numpy(), batch.landmarks.numpy()
    params = model.encoder(image, training=False)
    out = model.renderer(params, image / 255.0)
    predicted = out["landmarks2d"] if batch.landmark_vertices is None else \
        model.renderer.landmarks_at(out["pixels"], batch.landmark_vertices)
    rows = []
    for b in range(len(image)):
        photo = to_uint8(image[b] / 255.0)
        render = to_uint8(out["image"][b].numpy())
        mask = out["mask"][b].numpy()
        overlay = to_uint8(0.5 * out["image"][b].numpy() * mask + image[b] / 255.0 * (1 - 0.5 * mask))
        overlay = draw_landmarks(overlay, landmarks[b], (255, 0, 0))
        overlay = draw_landmarks(overlay, predicted[b].numpy(), (0, 255, 0))
        rows.append(np.concatenate([photo, render, overlay], 1))
    return np.stack(rows)


class _StopRequest:
    """Turns SIGINT/SIGTERM into a checkpoint-and-exit at the next step."""

    def __init__(self) -> None:
        self.requested = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, *_: Any) -> None:
        self.requested = True


def train(config: Dict[str, Any], verbose: bool = True,
          overwrite: bool = False, progress: bool = True) -> Dict[str, float]:
    """Run (or resume) training; returns the last logged loss terms.

    ``verbose`` shows a progress bar, or with ``progress=False`` a line every
    ``schedule.log_every`` steps instead (for the log file of a background run).

    ``output_dir`` must be new, empty or a previous training output (then
    training resumes, refused with the differing keys if the config changed
    beyond :data:`tfface.config.RESUMABLE_CHANGES`); any other folder is
    refused unless ``overwrite``. A resume restores the weights, the
    optimizer state and the step, and skips the batches already seen; it is
    not bit-deterministic: augmentation's random state is not checkpointed,
    so two resumes from one checkpoint see differently augmented batches. A
    run that fails before it writes anything (no data at ``data.path``, empty
    or corrupt shards, unreadable backbone weights) leaves no ``output_dir``
    behind."""
    with output_folder_for(config["output_dir"], "train", overwrite) as out_dir:
        return _train_into(out_dir, config, verbose, progress)


def loss_summary(logs: Dict[str, float]) -> str:
    """``loss 0.1234, landmark 0.0012, ...``: a step's loss terms on one line."""
    return ", ".join(f"{name} {value:.4f}" for name, value in logs.items())


def _train_into(out_dir: str, config: Dict[str, Any], verbose: bool,
                progress: bool) -> Dict[str, float]:
    """:func:`train` in the claimed ``out_dir``: its config, checkpoints,
    TensorBoard logs and, at the end, ``encoder.keras``."""
    strategy = make_strategy(config["strategy"])
    resuming = tf.train.latest_checkpoint(os.path.join(out_dir, "checkpoints")) is not None
    stored = os.path.join(out_dir, "config.json")
    if resuming and os.path.isfile(stored):
        changed = resume_conflicts(run_config(stored), config)
        if changed:
            raise TfFaceError(f"{out_dir}: resuming with a changed {', '.join(changed)} "
                              f"(see {stored}); keep them, or choose a new output_dir")
    with strategy.scope():
        model = build_model(config, start=not resuming)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(encoder=model.encoder, optimizer=model.optimizer, step=step)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(out_dir, "checkpoints"),
                                         max_to_keep=3)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        if verbose:
            print(f"resuming from {manager.latest_checkpoint} at step {int(step.numpy())}")
    schedule = config["schedule"]
    total = int(schedule["steps"])
    dataset = build_dataset(config, model.renderer, int(step.numpy()), out_dir)
    preview = Batch(*(None if part is None else part[:4]
                      for part in unpack_batch(_first_batch(dataset, config))))
    write_json_atomic(os.path.join(out_dir, "config.json"), config)  # the run has started
    iterator = iter(strategy.experimental_distribute_dataset(dataset))
    model.make_train_function()
    train_function = model.train_function
    writer = tf.summary.create_file_writer(os.path.join(out_dir, "tensorboard"))
    stop = _StopRequest()
    logs: Dict[str, float] = {}
    bar = tqdm(total=total, initial=int(step.numpy()), disable=not (verbose and progress),
               unit="step")
    while int(step.numpy()) < total and not stop.requested:
        for tracker in model.metrics:
            tracker.reset_state()
        try:
            logs = {k: float(v) for k, v in train_function(iterator).items()}
        except tf.errors.DataLossError as error:  # a record corrupted past the first batch
            done = int(step.numpy())
            manager.save(checkpoint_number=done)
            bar.close()
            raise TfFaceError(f"{config['data']['path']}: a training record could not be read "
                              f"at step {done + 1} ({_first_line(error)}); checkpoint saved at "
                              f"step {done}: re-create the shards with `tfface prepare` and "
                              "re-run the same command to resume") from None
        step.assign_add(1)
        current = int(step.numpy())
        bar.update(1)
        if not math.isfinite(logs["loss"]):
            tqdm.write(f"step {current}: non-finite loss; this step's gradients were zeroed")
        bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
        with writer.as_default(step=current):
            if current % schedule["log_every"] == 0 or current == total:
                if verbose and not progress:
                    print(f"step {current}/{total}: {loss_summary(logs)}", flush=True)
                for name, value in logs.items():
                    tf.summary.scalar(f"loss/{name}", value)
                tf.summary.scalar("learning_rate", float(model.optimizer.learning_rate))
            if current % schedule["image_every"] == 0 or current == total:
                tf.summary.image("input|render|overlay", summary_image(model, preview),
                                 max_outputs=4)
        if current % schedule["checkpoint_every"] == 0 or current == total:
            manager.save(checkpoint_number=current)
    if stop.requested:
        manager.save(checkpoint_number=int(step.numpy()))
        tqdm.write(f"interrupted: checkpoint saved at step {int(step.numpy())}; "
                   "re-run the same command to resume")
    bar.close()
    writer.flush()
    if int(step.numpy()) >= total:
        save_encoder(model.encoder, os.path.join(out_dir, "encoder.keras"), model.face_loss)
    return logs


def _first_batch(dataset: tf.data.Dataset, config: Dict[str, Any]):
    """The first batch of ``dataset``, or a one-line :class:`TfFaceError`
    naming ``data.path`` when its files yield none (empty or corrupt shards)."""
    try:
        return next(iter(dataset.take(1)))
    except (StopIteration, tf.errors.DataLossError, tf.errors.InvalidArgumentError) as error:
        detail = "no examples" if isinstance(error, StopIteration) else _first_line(error)
        raise TfFaceError(f"{config['data']['path']}: no training batch could be read "
                          f"({detail}); re-create the shards with `tfface prepare`") from None


def _first_line(error: tf.errors.OpError) -> str:
    """TensorFlow's error message, first line, less its op and node annotations."""
    return re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:.*$", "", error.message.strip().splitlines()[0])


def encoder_from_run(run_dir: str):
    """``(encoder, autoencoder, morphable model)`` of a training run, restored
    from its last checkpoint."""
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(config_path):
        raise TfFaceError(f"{run_dir}: not a training run folder (no config.json); give the "
                          "output_dir of train.py")
    config = run_config(config_path)
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    if latest is None:
        raise TfFaceError(f"{run_dir}: no checkpoint yet; train first")
    model = build_model(config, start=False)
    tf.train.Checkpoint(encoder=model.encoder).restore(latest).expect_partial()
    return model.encoder, model, load_model(config["model"]["morphable_model"])
