"""Kill tests: SIGKILL a folder run at seeded random moments, re-run it, and
every output validates with no temporaries left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import trimesh

from tfface.data.folder import write_pts
from tfface.io_utils import LOCK_FILE, OUTPUT_MARKER
from tfface.overlay import to_uint8, write_image

SEED = 7
KILL_POINTS = 2


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Four synthetic ICT photos with their .pts files."""
    from tfface.data.synthetic import render_synthetic
    from tfface.layers import Renderer
    from tfface.morphable import default_model
    folder = tmp_path_factory.mktemp("photos")
    data = render_synthetic(Renderer.from_model(default_model(), (128, 128)), 4, seed=3)
    for i, (image, landmarks) in enumerate(zip(data["image"], data["landmarks"])):
        write_image(str(folder / f"p{i}.png"), to_uint8(image / 255.0))
        write_pts(str(folder / f"p{i}.pts"), landmarks)
    return folder


def _killed_then_completed(args, delay: float):
    command = [sys.executable, "-m", "tfface.cli"] + args
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-1000:]
    assert "Traceback" not in result.stderr


def _no_temporaries(folder) -> None:
    left = [n for n in os.listdir(folder) if "partial" in n or n.startswith(".tfface-export")
            or n == LOCK_FILE]
    assert not left, left


@pytest.mark.parametrize("k", range(KILL_POINTS))
def test_reconstruct_folder_survives_sigkill(photos, tmp_path, k):
    delay = np.random.default_rng(SEED + k).uniform(3.0, 12.0)
    out = tmp_path / "out"
    _killed_then_completed(["reconstruct", str(photos), "--out", str(out)], delay)
    _no_temporaries(out)
    assert sorted(os.listdir(out)) == sorted(
        [OUTPUT_MARKER] + [f"p{i}{s}" for i in range(4)
                           for s in ("_face0.json", "_face0.obj", "_overlay.png")])
    for i in range(4):
        json.loads((out / f"p{i}_face0.json").read_text())
        assert len(trimesh.load(str(out / f"p{i}_face0.obj"), process=False).vertices) == 9409


@pytest.mark.parametrize("k", range(KILL_POINTS))
def test_prepare_survives_sigkill(photos, tmp_path, k):
    from tfface.data.records import records_dataset
    delay = np.random.default_rng(SEED + 10 + k).uniform(2.0, 8.0)
    out = tmp_path / "shards"
    _killed_then_completed(["prepare", "--images", str(photos), "--out", str(out), "--size", "64",
                            "--shard-size", "2", "--workers", "1"], delay)
    _no_temporaries(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["used"] == 4 and manifest["examples"] == 4
    images, labels = next(iter(records_dataset(str(out), 64, 4, seed=0, augment=False)))
    assert images.shape == (4, 64, 64, 3) and labels["landmarks"].shape == (4, 68, 2)


def test_export_all_survives_sigkill(tmp_path, demo):
    from tfface.encoders import build_encoder
    from tfface.params import FaceParams
    from tfface.runtime import load_encoder
    from tfface.export import FORMATS
    encoder = tmp_path / "encoder.keras"
    build_encoder(FaceParams.from_model(demo), input_size=32).save(str(encoder))
    out = tmp_path / "exported"
    delay = np.random.default_rng(SEED + 20).uniform(8.0, 30.0)
    _killed_then_completed(["export", "--model", str(encoder), "--morphable-model", "demo",
                            "--format", "all", "--out", str(out), "--samples", "4"], delay)
    _no_temporaries(out)
    for fmt in FORMATS:
        path = out / ("encoder-" + fmt + {"onnx": ".onnx", "savedmodel": ""}.get(fmt, ".tflite"))
        sidecar = json.loads(path.with_name(path.name + ".json").read_text())
        assert sidecar["output"]["shape"][-1] == FaceParams.from_model(demo).size
        x = np.zeros((1, 32, 32, 3), np.float32)
        assert load_encoder(str(path)).predict(x).shape == (1, FaceParams.from_model(demo).size)
