"""Every export format round-trips with parity; int8 is really int8; bad args fail cleanly."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.like_trained import like_trained
from tfface.export.pipeline import default_samples, export_encoder
from tfface.encoders import backbone_of, build_encoder
from tfface.errors import TfFaceError
from tfface.face_loss import FaceLoss, encoder_loss
from tfface.params import FaceParams
from tfface.runtime import load_encoder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def encoder_setup(demo):
    import keras
    keras.utils.set_random_seed(0)  # a fixed random backbone: int8 error depends on it
    layout = FaceParams.from_model(demo)
    encoder = build_encoder(layout, input_size=64)
    samples = default_samples(encoder, 8, model=demo)
    like_trained(encoder, samples)
    return encoder, layout, samples


def test_like_trained_gives_statistics_and_head_but_keeps_training_settings(demo):
    import keras
    encoder = build_encoder(FaceParams.from_model(demo), input_size=32, batchnorm_momentum=0.9)
    batchnorms = [l for l in backbone_of(encoder).layers
                  if isinstance(l, keras.layers.BatchNormalization)]
    samples = default_samples(encoder, 4, model=demo)
    like_trained(encoder, samples)
    assert {l.momentum for l in batchnorms} == {0.9}  # the encoder's own, restored
    params = encoder.predict(samples, verbose=0)
    assert 0.1 < params.std() < 1.0  # the head is no longer zero


@pytest.mark.parametrize("fmt, path", [("tflite-fp32", "e.tflite"), ("tflite-fp16", "e.tflite"),
                                       ("tflite-dynamic", "e.tflite"), ("tflite-int8", "e.tflite"),
                                       ("onnx", "e.onnx"), ("savedmodel", "e_savedmodel")])
def test_format_round_trip_with_parity(encoder_setup, demo, tmp_path, fmt, path):
    encoder, layout, samples = encoder_setup
    out = str(tmp_path / path)
    trained_with = FaceLoss({"landmark": 7.0, "landmark_emphasis": 2.0})
    report = export_encoder(encoder, layout, demo, fmt, out, samples, verbose=False,
                            face_loss=trained_with)
    assert os.path.exists(out) and sorted(os.listdir(tmp_path)) == sorted([path, path + ".json"])
    assert encoder_loss(out).section() == trained_with.section()  # fitting finds it
    runtime = load_encoder(out)
    got = runtime.predict(samples[:2])
    want = encoder.predict(samples[:2], verbose=0)
    assert got.shape == want.shape == (2, layout.size)
    assert np.abs(want).max() > 1e-3  # a non-trivial output
    if fmt in ("tflite-int8", "tflite-dynamic"):  # quantized: close, not equal
        assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > (0.85 if fmt == "tflite-int8" else 0.95)
    else:
        tolerance = 0.03 if fmt == "tflite-fp16" else 1e-4
        assert np.abs(got - want).max() <= tolerance * max(1.0, np.abs(want).max())
    assert report["mesh_error_pct_width"] < 5.0
    sidecar = json.load(open(out + ".json"))
    assert sidecar["output"]["shape"] == [1, layout.size]
    groups = {g["name"]: g for g in sidecar["output"]["groups"]}
    assert groups["expression"]["names"][0] == "jawOpen"
    assert groups["rotation"]["offset"] == layout.slices["rotation"].start
    from tfface.export.signature import WRITTEN_BY, written_by_export
    assert sidecar.pop("written_by") == WRITTEN_BY and written_by_export(out)
    assert len(sidecar.pop("sha256")) == 64  # the model's hash signs the sidecar
    if fmt.startswith("tflite"):  # the same description is embedded in the model file
        from tfface.export.signature import read_tflite_metadata
        assert read_tflite_metadata(out) == sidecar


def test_int8_model_holds_int8_weights(encoder_setup, demo, tmp_path):
    from ai_edge_litert.interpreter import Interpreter
    encoder, layout, samples = encoder_setup
    out = str(tmp_path / "int8.tflite")
    export_encoder(encoder, layout, demo, "tflite-int8", out, samples, int8_io=True, verbose=False)
    interpreter = Interpreter(model_path=out)
    details = interpreter.get_tensor_details()
    conv_weights = [d for d in details if len(d["shape"]) == 4 and d["dtype"] == np.int8]
    float_weights = [d for d in details if len(d["shape"]) == 4 and d["dtype"] == np.float32]
    assert len(conv_weights) > 10 and not float_weights
    assert interpreter.get_input_details()[0]["dtype"] == np.int8
    assert json.load(open(out + ".json"))["input"]["dtype"] == "int8"
    got = load_encoder(out).predict(samples[:2])
    want = encoder.predict(samples[:2], verbose=0)
    assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.85


def test_failed_parity_leaves_no_file(encoder_setup, demo, tmp_path, monkeypatch):
    import tfface.export.pipeline as pipeline
    encoder, layout, samples = encoder_setup
    monkeypatch.setitem(pipeline.MESH_TOLERANCE_PCT, "onnx", -1.0)  # impossible tolerance
    with pytest.raises(TfFaceError, match="parity failed"):
        export_encoder(encoder, layout, demo, "onnx", str(tmp_path / "e.onnx"), samples,
                       verbose=False)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args, message", [
    (["--checkpoint", "/nonexistent/run", "--format", "onnx", "--out", "x.onnx"],
     "not a training run folder"),
    (["--encoder", "/nonexistent/e.keras", "--format", "onnx", "--out", "x.onnx"], "no such encoder"),
])
def test_bad_export_arguments_give_one_line_errors(tmp_path, args, message):
    result = subprocess.run([sys.executable, "-m", "tfface.cli", "export"] + args, cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("tfface: error:") and message in last
    assert "Traceback" not in result.stderr and os.listdir(tmp_path) == []


def test_unwritable_output_folder(encoder_setup, demo, tmp_path):
    encoder, layout, samples = encoder_setup
    with pytest.raises(TfFaceError, match="not writable"):
        export_encoder(encoder, layout, demo, "onnx", str(tmp_path / "missing" / "e.onnx"),
                       samples, verbose=False)
    result = subprocess.run([sys.executable, "-m", "tfface.cli", "export", "--encoder", "e.keras",
                             "--format", "tflite-int4", "--out", "x"], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_savedmodel_export_never_deletes_foreign_files(encoder_setup, demo, tmp_path):
    encoder, layout, samples = encoder_setup
    out = tmp_path / "mydir"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(TfFaceError, match="--overwrite"):
        export_encoder(encoder, layout, demo, "savedmodel", str(out), samples, verbose=False)
    assert os.listdir(out) == ["notes.txt"]
    export_encoder(encoder, layout, demo, "savedmodel", str(out), samples, verbose=False,
                   overwrite=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "saved_model.pb").is_file()
    # a previous export is replaced without --overwrite, and still keeps the user's file
    export_encoder(encoder, layout, demo, "savedmodel", str(out), samples, verbose=False)
    assert (out / "notes.txt").read_text() == "mine"
    assert load_encoder(str(out)).predict(samples[:1]).shape == (1, layout.size)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no staging left


def test_file_export_refuses_a_file_it_did_not_write(encoder_setup, demo, tmp_path):
    encoder, layout, samples = encoder_setup
    out = tmp_path / "e.onnx"
    out.write_bytes(b"someone else's model")
    with pytest.raises(TfFaceError, match="not a tfface export"):
        export_encoder(encoder, layout, demo, "onnx", str(out), samples, verbose=False)
    assert out.read_bytes() == b"someone else's model"
    export_encoder(encoder, layout, demo, "onnx", str(out), samples, verbose=False,
                   overwrite=True)
    export_encoder(encoder, layout, demo, "onnx", str(out), samples, verbose=False)  # ours now
    assert load_encoder(str(out)).predict(samples[:1]).shape == (1, layout.size)


def _crop_from_contract(photo: np.ndarray, points: np.ndarray, size: int, alignment: dict):
    """The encoder's crop written from the sidecar's ``alignment`` text alone
    (an app's implementation; no tfface code)."""
    import cv2
    q = np.asarray(alignment["template"]) * size - 0.5
    p_, q_ = points - points.mean(0), q - q.mean(0)
    dot = (p_ * q_).sum()
    cross = (p_[:, 0] * q_[:, 1] - p_[:, 1] * q_[:, 0]).sum()
    s, a = np.hypot(dot, cross) / (p_ ** 2).sum(), np.arctan2(cross, dot)
    turn = a if abs(np.degrees(a)) > alignment["level_beyond_degrees"] else 0.0
    linear = s * np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    matrix = np.c_[linear, q.mean(0) - linear @ points.mean(0)]
    k = int(min(8, np.ceil(1 / s))) if s < 1 else 1
    big = matrix * k
    big[:, 2] += (k - 1) / 2  # pixel centres at integers on the k-times larger grid
    crop = cv2.warpAffine(photo, big, (size * k, size * k), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    if k > 1:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return matrix, turn, crop


@pytest.mark.parametrize("roll", [10.0, 50.0])
def test_the_sidecar_describes_the_pipeline_around_the_encoder(roll):
    """An app that follows the sidecar's landmarks, alignment and camera text
    gets tfface's own 68 points, crop and projection."""
    from tfface.export.signature import describe
    from tfface.faces.align import align_face
    from tfface.faces.mesh_map import ibug68
    from tfface.morphable import default_model
    from tfface.pinhole import PinholeCamera, euler_matrix
    model, size = default_model(), 112
    contract = json.loads(json.dumps(describe(FaceParams.from_model(model), size, "tflite-fp32",
                                              model=model)))
    rng = np.random.default_rng(0)
    mesh = rng.uniform(0, 400, (478, 2))
    pairs = np.array(contract["landmarks"]["from_mediapipe_478"])
    a, b, t = pairs[:, 0].astype(int), pairs[:, 1].astype(int), pairs[:, 2:]
    np.testing.assert_allclose((1 - t) * mesh[a] + t * mesh[b], ibug68(mesh), atol=1e-3)

    photo = rng.integers(0, 255, (480, 640, 3), np.uint8)
    angle = np.radians(roll)
    turn = 1.7 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = np.asarray(contract["alignment"]["template"]) * 200 @ turn.T + [150, 120]
    points += rng.normal(0, 2, points.shape)
    matrix, levelled, crop = _crop_from_contract(photo, points, size, contract["alignment"])
    aligned = align_face(photo, points, size, level_beyond=30.0)
    np.testing.assert_allclose(matrix, aligned.transform, atol=1e-3)  # template to 6 digits
    assert np.isclose(levelled, aligned.roll) and (levelled != 0) == (roll > 30)
    assert np.abs(crop.astype(int) - aligned.crop).max() <= 1

    camera = contract["camera"]
    reference = PinholeCamera.for_model(model, (size, size))
    pose = np.radians([12.0, -25.0, 5.0])
    rotation = euler_matrix(pose)
    vertices = model.mean_shape[model.landmark_indices].astype(np.float64)
    world = np.exp(0.1) * (vertices - camera["center"]) @ rotation.T + [3.0, -2.0, 10.0]
    depth = camera["distance"] - world[:, 2]
    pixels = np.c_[(size - 1) / 2 + camera["focal_px"] * world[:, 0] / depth,
                   (size - 1) / 2 - camera["focal_px"] * world[:, 1] / depth]
    np.testing.assert_allclose(pixels, reference.project(
        np.exp(0.1) * (vertices - reference.center) @ rotation.T + [3.0, -2.0, 10.0])[0],
        atol=1e-3)


@pytest.mark.parametrize("name, remedy", [("e.keras", "re-run the training run"),
                                          ("e.tflite", "re-export it"), ("e.onnx", "re-export it")])
def test_a_corrupt_encoder_file_names_how_to_get_it_again(tmp_path, name, remedy):
    from tfface.errors import ModelFileError
    (tmp_path / name).write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match=f"{name}: cannot load encoder .*; {remedy}"):
        load_encoder(str(tmp_path / name))
