"""Training: loss decrease, replica equivalence, resume after SIGKILL, config errors."""

import json
import re
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfface.config import load_config
from tfface.data.pipeline import arrays_dataset
from tfface.data.synthetic import render_synthetic
from tfface.encoders import build_encoder
from tfface.errors import TfFaceError
from tfface.layers import Renderer
from tfface.training.autoencoder import FaceAutoencoder
from tfface.training import build_model, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model(demo, size=64, face_loss=None):
    renderer = Renderer.from_model(demo, (size, size))
    model = FaceAutoencoder(build_encoder(renderer.layout, input_size=size), renderer, face_loss)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    return model, renderer


def test_thirty_steps_lower_the_data_terms(demo):
    """Training-mode losses, first 5 vs last 5 of 30 steps (regularisation starts
    at exactly 0: the zero-initialised head predicts the mean face)."""
    keras.utils.set_random_seed(0)
    model, renderer = _model(demo)
    data = render_synthetic(renderer, 64, seed=1)
    history = model.fit(arrays_dataset(data, 8, seed=0), steps_per_epoch=5, epochs=6,
                        verbose=0).history
    assert history["regularization"][0] > 0
    for term in ("landmark", "photometric", "loss"):
        assert history[term][-1] < history[term][0], (term, history[term])


def test_shape_supervision_alone_trains_the_encoder(demo):
    """With only the ``shape`` term, 30 steps on synthetic faces (batched with
    their true params) lower the shape error: its gradient reaches the
    encoder and each image meets its own params."""
    from tfface.face_loss import FaceLoss
    keras.utils.set_random_seed(0)
    model, renderer = _model(demo, face_loss=FaceLoss(
        {"landmark": 0.0, "photometric": 0.0, "regularization": {}, "shape": 1000.0}))
    data = render_synthetic(renderer, 64, seed=1)
    history = model.fit(arrays_dataset(data, 8, seed=0), steps_per_epoch=5, epochs=6,
                        verbose=0).history
    assert history["shape"][-1] < 0.8 * history["shape"][0], history["shape"]


def test_non_finite_batch_leaves_weights_unchanged(demo):
    model, _ = _model(demo)
    model.compile(optimizer=keras.optimizers.SGD(0.1))  # no momentum: zero gradient = no move
    weights = [w.numpy().copy() for w in model.encoder.trainable_weights]
    logs = model.train_on_batch(np.full((4, 64, 64, 3), np.nan, np.float32),
                                np.zeros((4, 68, 2), np.float32), return_dict=True)
    assert not np.isfinite(logs["loss"])
    for a, b in zip(weights, model.encoder.trainable_weights):
        np.testing.assert_array_equal(a, b.numpy())


MIRRORED = textwrap.dedent("""
    import json, numpy as np, tensorflow as tf, keras
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfface.morphable import demo_model
    from tfface.layers import Renderer
    from tfface.encoders import build_encoder
    from tfface.training.autoencoder import FaceAutoencoder
    from tfface.data.synthetic import render_synthetic
    renderer0 = Renderer.from_model(demo_model(), (48, 48))
    data = render_synthetic(renderer0, 8, seed=3)
    batch = (data["image"], data["landmarks"])
    results = {}
    for name, strategy in (("one", tf.distribute.OneDeviceStrategy("/cpu:0")),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
        keras.utils.set_random_seed(7)
        with strategy.scope():
            renderer = Renderer.from_model(demo_model(), (48, 48))
            model = FaceAutoencoder(build_encoder(renderer.layout, input_size=48), renderer)
            model.compile(optimizer=keras.optimizers.SGD(0.1))
        ds = tf.data.Dataset.from_tensors(batch)
        logs = model.fit(ds, epochs=1, verbose=0).history
        head = model.encoder.get_layer("params_head").kernel.numpy()
        results[name] = {"loss": logs["loss"][0], "head": head.ravel()[:2000].tolist()}
    print("RESULT" + json.dumps(results))
""")


def test_mirrored_strategy_matches_one_device():
    """Same loss and same update (hence gradients) with 2 replicas; tol 1e-4 rel."""
    out = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT")]
    assert line, out.stderr[-2000:]
    import json
    results = json.loads(line[0][len("RESULT"):])
    one, mirrored = results["one"], results["mirrored"]
    assert mirrored["loss"] == pytest.approx(one["loss"], rel=1e-4)
    assert np.abs(np.array(one["head"])).max() > 0  # the step changed the head
    np.testing.assert_allclose(mirrored["head"], one["head"], rtol=1e-3, atol=1e-6)


def _train_command(out_dir, steps):
    return [sys.executable, "train.py", "--config", "configs/quickstart_cpu.yaml",
            "--override", f"output_dir={out_dir}", "--override", f"schedule.steps={steps}",
            "--override", "schedule.checkpoint_every=5", "--override", "model.input_size=48",
            "--override", "data.synthetic_count=32", "--override", "data.batch_size=4",
            "--override", "schedule.image_every=5", "--override", "losses.landmark_emphasis=3"]


def test_sigkill_then_rerun_resumes_from_the_last_checkpoint(tmp_path):
    out_dir = str(tmp_path / "run")
    process = subprocess.Popen(_train_command(out_dir, 400), cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    index = os.path.join(out_dir, "checkpoints", "checkpoint")
    deadline = time.time() + 300
    while not os.path.exists(index) and time.time() < deadline and process.poll() is None:
        time.sleep(0.5)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = tf.train.latest_checkpoint(os.path.join(out_dir, "checkpoints"))
    assert saved is not None
    saved_step = int(saved.rsplit("-", 1)[1])
    result = subprocess.run(_train_command(out_dir, saved_step + 5), cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"at step {saved_step}" in result.stdout
    final = tf.train.latest_checkpoint(os.path.join(out_dir, "checkpoints"))
    assert final.endswith(f"ckpt-{saved_step + 5}")
    assert os.path.isfile(os.path.join(out_dir, "encoder.keras"))
    from tfface.face_loss import encoder_loss  # the encoder carries the loss it was trained with
    with open(os.path.join(out_dir, "config.json"), encoding="utf-8") as handle:
        trained_with = json.load(handle)["losses"]
    carried = encoder_loss(os.path.join(out_dir, "encoder.keras"))
    assert carried.section() == trained_with and carried.terms["landmark"].emphasis == 3.0
    events = os.listdir(os.path.join(out_dir, "tensorboard"))
    assert any(name.startswith("events.out.tfevents") for name in events)


def test_landmark_emphasis_from_the_config_weights_the_landmark_loss():
    config = load_config(os.path.join(ROOT, "configs", "quickstart_cpu.yaml"),
                         ["losses.landmark_emphasis=5", "model.input_size=32"])
    weights = np.asarray(build_model(config).face_loss.terms["landmark"].point_weights)
    emphasised = np.zeros(68, bool)
    emphasised[27:31] = emphasised[60:68] = True      # nose bridge, inner mouth
    np.testing.assert_array_equal(weights[emphasised], 5.0)
    np.testing.assert_array_equal(weights[~emphasised], 1.0)


def test_bad_config_gives_one_line_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  batchsize: 8\n")
    with pytest.raises(TfFaceError, match="unknown config key 'data.batchsize'"):
        load_config(str(bad))
    with pytest.raises(TfFaceError, match="strategy"):
        load_config(None, ["strategy=tpu"])
    result = subprocess.run([sys.executable, "train.py", "--config", str(bad)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("train.py: error:") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("override, message", [
    ("data.batch_size=0", "'data.batch_size' is 0; give a whole number of at least 1"),
    ("schedule.steps=2.5", "'schedule.steps' is 2.5; give a whole number of at least 1"),
    ("schedule.checkpoint_every=0", "'schedule.checkpoint_every' is 0; give a whole number"),
    ("model.input_size=16", "'model.input_size' is 16; give a whole number of at least 32"),
    ("optimizer.learning_rate=0", "'optimizer.learning_rate' is 0; give a number above 0"),
    ("optimizer.learning_rate=fast", "'optimizer.learning_rate' is 'fast'"),
    ("losses.landmark=-5", "'losses.landmark' is -5; give a number of at least 0"),
    ("data.augment=maybe", "'data.augment' is 'maybe'; give true or false"),
    ("losses.regularization=3", "give a mapping of coefficient group -> weight"),
    ("losses.regularization.jaw=1", "unknown group 'jaw'; groups: identity, expression"),
    ("losses.regularization.albedo=-1", "'losses.regularization.albedo' is -1")])
def test_bad_config_values_are_named_before_training(override, message):
    with pytest.raises(TfFaceError) as error:
        load_config(os.path.join(ROOT, "configs", "quickstart_cpu.yaml"), [override])
    assert message in str(error.value) and "quickstart_cpu.yaml" in str(error.value)


def test_a_run_that_fails_before_training_leaves_no_output_folder(tmp_path):
    out = tmp_path / "run"
    config = load_config(os.path.join(ROOT, "configs", "quickstart_cpu.yaml"),
                         ["data.source=folder", f"data.path={tmp_path / 'no-photos'}",
                          f"output_dir={out}", "model.input_size=32"])
    with pytest.raises(TfFaceError, match="no images with .pts annotations"):
        train(config, verbose=False)
    assert not out.exists()
    out.mkdir()  # a folder the user made stays, empty
    with pytest.raises(TfFaceError):
        train(config, verbose=False)
    assert out.is_dir() and not os.listdir(out)


@pytest.mark.parametrize("damage", ["junk", "corrupted"])
def test_unreadable_shards_are_named_before_training(tmp_path, damage):
    from tfface.data.records import make_example, shard_path, write_shard
    shards = tmp_path / "shards"
    shards.mkdir()
    path = shard_path(str(shards), 0)
    if damage == "junk":
        with open(path, "wb") as handle:
            handle.write(b"junk\n")
    else:
        rng = np.random.default_rng(0)
        write_shard(path, [make_example(rng.integers(0, 255, (32, 32, 3), np.uint8),
                                        rng.uniform(0, 32, (68, 2))) for _ in range(4)])
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
        with open(path, "wb") as handle:
            handle.write(bytes(data))
    out = tmp_path / "run"
    config = load_config(os.path.join(ROOT, "configs", "quickstart_cpu.yaml"),
                         ["data.source=tfrecord", f"data.path={shards}", f"output_dir={out}",
                          "model.input_size=32", "data.batch_size=2"])
    with pytest.raises(TfFaceError) as error:
        train(config, verbose=False)
    assert str(error.value).startswith(f"{shards}: no training batch could be read (")
    assert "{{" not in str(error.value) and not out.exists()


def test_a_record_corrupted_mid_run_stops_with_one_line_and_a_checkpoint(tmp_path):
    """Past the first batch: the shuffle buffer (2048) holds the records
    before the damaged one, so training starts and meets it a few steps in."""
    from tfface.data.records import make_example, shard_path, write_shard
    shards = tmp_path / "shards"
    shards.mkdir()
    path = shard_path(str(shards), 0)
    rng = np.random.default_rng(0)
    example = make_example(rng.integers(0, 255, (32, 32, 3), np.uint8),
                           rng.uniform(0, 32, (68, 2)))
    write_shard(path, [example] * 2080)
    data = bytearray(open(path, "rb").read())
    record = len(example) + 16  # length, its CRC, the example, its CRC
    data[2070 * record + 20:2070 * record + 84] = bytes(64)
    with open(path, "wb") as handle:
        handle.write(bytes(data))
    out = tmp_path / "run"
    config = load_config(os.path.join(ROOT, "configs", "quickstart_cpu.yaml"),
                         ["data.source=tfrecord", f"data.path={shards}", f"output_dir={out}",
                          "model.input_size=32", "data.batch_size=2", "data.augment=false",
                          "schedule.steps=100", "schedule.checkpoint_every=1000"])
    with pytest.raises(TfFaceError) as error:
        train(config, verbose=False)
    message = str(error.value)
    match = re.fullmatch(rf"{re.escape(str(shards))}: a training record could not be read at "
                         r"step (\d+) \(.+\); checkpoint saved at step (\d+): re-create the "
                         r"shards with `tfface prepare` and re-run the same command to resume",
                         message)
    assert match and "{{" not in message, message
    failed, saved = int(match.group(1)), int(match.group(2))
    assert failed == saved + 1 and saved >= 1
    assert tf.train.latest_checkpoint(str(out / "checkpoints")).endswith(f"ckpt-{saved}")
    assert (out / "config.json").exists()


def test_an_override_of_one_regularization_group_keeps_the_others():
    recipe = os.path.join(ROOT, "configs", "mobilenet_v3_192.yaml")
    weights = load_config(recipe, ["losses.regularization.identity=0.5"])["losses"][
        "regularization"]
    assert weights == {**load_config(recipe)["losses"]["regularization"], "identity": 0.5}
    assert weights["albedo"] == 1.7e-3


@pytest.mark.parametrize("recipe", sorted(os.listdir(os.path.join(ROOT, "configs"))))
def test_every_shipped_recipe_loads_and_builds(recipe):
    config = load_config(os.path.join(ROOT, "configs", recipe), ["model.input_size=32"])
    model = build_model(config)
    assert model.encoder.output_shape[-1] == model.renderer.layout.size
    assert model.face_loss.section() == config["losses"]
    assert [m.name for m in model.metrics] == ["loss", *model.face_loss.names]


def test_landmark_term_compares_with_the_vertices_the_labels_name(demo):
    """Labels with ``landmark_vertices`` (annotated photos' jaw conventions):
    the landmark term compares each point with the named vertex, -1 with the
    model's own. Landmarks rendered at other jaw vertices give a zero term
    with those ids, and a clearly non-zero one against the model's own."""
    from tfface.data.pipeline import Batch
    size = 64
    renderer = Renderer.from_model(demo, (size, size))
    params = np.zeros(renderer.layout.size, np.float32)
    params[renderer.layout.slices["rotation"]] = np.radians([5.0, 30.0, 0.0])
    inputs = keras.Input((size, size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    output = keras.layers.Dense(renderer.layout.size, kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant(params))(pooled)
    model = FaceAutoencoder(keras.Model(inputs, output), renderer)
    pixels = renderer.compute_for_render(params[None])["pixels"].numpy()[0]
    own = np.asarray(renderer.landmark_indices)
    ids = np.full(68, -1)
    ids[:17] = (own[:17] + 7) % demo.num_vertices  # other vertices for the jaw
    marked = np.where(ids < 0, own, ids)
    image = np.zeros((1, size, size, 3), np.float32)
    landmarks = pixels[marked][None].astype(np.float32)
    with_ids = model.compute_terms(Batch(image, landmarks, landmark_vertices=ids[None]))
    without = model.compute_terms(Batch(image, landmarks))
    assert float(with_ids["landmark"]) < 1e-9
    assert float(without["landmark"]) > 1e-4


def test_fine_tuning_starts_from_the_trained_encoder():
    """``model.init_encoder: default`` starts from the shipped encoder's
    weights: the built encoder predicts what the shipped file predicts."""
    from tfface.encoders import DEFAULT_ENCODERS
    from tfface.runtime import load_encoder
    recipe = os.path.join(ROOT, "configs", "quickstart_cpu.yaml")
    config = load_config(recipe, ["model.morphable_model=demo", "model.input_size=112",
                                  "model.init_encoder=default"])
    images = np.random.default_rng(0).uniform(0, 255, (2, 112, 112, 3)).astype(np.float32)
    shipped = load_encoder(DEFAULT_ENCODERS["demo"]).predict(images)
    assert np.abs(shipped).max() > 0.01
    np.testing.assert_allclose(build_model(config).encoder.predict_on_batch(images), shipped,
                               atol=1e-5)


def test_fine_tuning_from_an_unlike_encoder_is_named(tmp_path, demo):
    from tfface.params import FaceParams
    from tfface.encoders import DEFAULT_ENCODERS
    recipe = os.path.join(ROOT, "configs", "quickstart_cpu.yaml")
    other_model = load_config(recipe, ["model.input_size=64",
                                       f"model.init_encoder={DEFAULT_ENCODERS['demo']}"])
    with pytest.raises(TfFaceError) as error:
        build_model(other_model)
    params = build_model(load_config(recipe)).renderer.layout.size
    assert str(error.value) == (
        f"{DEFAULT_ENCODERS['demo']}: its weights do not fit this config's encoder (a "
        f"encoder_mobilenet_v3_small_112 with {FaceParams.from_model(demo).size} params, the "
        "config's a "
        f"encoder_mobilenet_v3_small_64 with {params}); give one trained for the same "
        "morphable model and backbone")
    exported = tmp_path / "face.tflite"
    exported.write_bytes(b"x")
    with pytest.raises(TfFaceError, match="face.tflite: fine-tuning starts from a .keras"):
        build_model(load_config(recipe, [f"model.init_encoder={exported}"]))
    with pytest.raises(TfFaceError, match="missing.keras: model.init_encoder not found"):
        load_config(recipe, [f"model.init_encoder={tmp_path / 'missing.keras'}"])
    model_file = tmp_path / "mine.npz"
    model_file.write_bytes(b"")
    with pytest.raises(TfFaceError, match="'default' is the shipped encoder of a built-in"):
        load_config(recipe, [f"model.morphable_model={model_file}", "model.init_encoder=default"])


def test_a_resumed_fine_tuning_run_starts_from_its_checkpoint(tmp_path):
    """Once a run has a checkpoint, re-running it (or exporting it) does not
    load ``model.init_encoder`` again: here the start is swapped for an
    encoder of another model, which building from it would refuse."""
    from tfface.encoders import DEFAULT_ENCODERS
    from tfface.training import encoder_from_run
    recipe = os.path.join(ROOT, "configs", "quickstart_cpu.yaml")
    settings = ["model.morphable_model=demo", "model.input_size=32", "data.synthetic_count=4",
                "data.batch_size=2", "schedule.steps=1", f"output_dir={tmp_path / 'run'}"]
    train(load_config(recipe, settings + ["model.init_encoder=default"]), verbose=False)
    swapped = load_config(recipe, settings + [f"model.init_encoder={DEFAULT_ENCODERS['ict']}",
                                              "schedule.steps=2"])
    with pytest.raises(TfFaceError, match="its weights do not fit"):
        build_model(swapped)
    train(swapped, verbose=False)
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints")).endswith("ckpt-2")
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())
    assert recorded["model"]["init_encoder"] == DEFAULT_ENCODERS["ict"]
    encoder_from_run(str(tmp_path / "run"))  # restores the checkpoint, not the start


def test_without_a_progress_bar_training_logs_a_line_every_log_every_steps(tmp_path, capsys):
    recipe = os.path.join(ROOT, "configs", "quickstart_cpu.yaml")
    config = load_config(recipe, ["model.morphable_model=demo", "model.input_size=32",
                                  "data.synthetic_count=4", "data.batch_size=2",
                                  "schedule.steps=4", "schedule.log_every=2",
                                  f"output_dir={tmp_path / 'run'}"])
    logs = train(config, progress=False)
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith("step ")]
    assert [line.split(":")[0] for line in lines] == ["step 2/4", "step 4/4"]
    assert lines[-1].endswith(", ".join(f"{k} {v:.4f}" for k, v in logs.items()))
    assert "it/s" not in captured.err and "step/s" not in captured.err  # no tqdm bar
