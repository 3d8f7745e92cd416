"""The built wheel carries its assets: a fresh process importing tfface from the
unpacked wheel alone (no checkout, no ../shared) reconstructs with ICT-FaceKit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSETS = ("tfface/assets/ict_face.npz", "tfface/assets/synthetic_encoder.keras",
          "tfface/assets/photo_encoder.keras",
          "tfface/assets/demo_encoder.keras",
          "tfface/assets/mediapipe/face_detection_short_range.tflite",
          "tfface/assets/mediapipe/face_landmarks_v2.tflite",
          "tfface/assets/licenses/ICT-FaceKit-LICENSE", "tfface/assets/licenses/MEDIAPIPE-LICENSE")


def test_wheel_reconstructs_with_the_default_model(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), ROOT], check=True, capture_output=True)
    wheel, = (tmp_path / "dist").iterdir()
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert set(ASSETS) <= names, set(ASSETS) - names
        archive.extractall(tmp_path / "site")
    # Every package of the source tree is in the wheel; export/ as tfface.export,
    # not as a top-level `export` module; no test helpers.
    for folder, _, files in os.walk(os.path.join(ROOT, "tfface")):
        if "__init__.py" in files:
            relative = os.path.relpath(folder, ROOT).replace(os.sep, "/")
            assert f"{relative}/__init__.py" in names, relative
    assert {"tfface/export/__init__.py", "tfface/export/pipeline.py"} <= names
    assert not [n for n in names if n.split("/")[0] in ("export", "tests", "benchmarks")]
    script = """
import json, sys, numpy as np
import tfface
from tfface.layers import Renderer
from tfface.morphable import default_model
from tfface.inference.reconstruct import FaceReconstructor
from tfface.export import FORMATS
assert tfface.__file__.startswith(sys.argv[1]), tfface.__file__
renderer = Renderer.from_model(default_model(), (160, 160))
params = renderer.layout.zeros(1)
out = renderer(params, np.full((1, 160, 160, 3), 0.4, np.float32))
photo = (np.clip(out["image"][0].numpy(), 0, 1) * 255).astype(np.uint8)
face, = FaceReconstructor().reconstruct(photo, [out["landmarks2d"][0].numpy()])
print(json.dumps({"vertices": len(face.vertices), "expressions": sorted(face.to_json()["expressions"])}))
"""
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "site")], cwd=tmp_path,
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert doc["vertices"] == 9409
    assert {"jawOpen", "mouthSmile_L", "eyeBlink_R"} <= set(doc["expressions"])
    assert len(doc["expressions"]) == 53 and np.all([isinstance(n, str) for n in doc["expressions"]])
