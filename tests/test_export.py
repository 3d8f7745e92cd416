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
