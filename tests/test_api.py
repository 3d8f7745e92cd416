"""The public API: ``import tfface`` is light, and its names work as the README shows."""

from __future__ import annotations

import subprocess
import sys

import numpy as np


def test_import_tfface_does_not_start_tensorflow():
    code = ("import sys, tfface; assert tfface.__version__; "
            "print('tensorflow' in sys.modules, sorted(n for n in dir(tfface) if n[0] != '_'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("False ") and "FaceReconstructor" in out and "read_image" in out


def test_the_readme_one_liner_reconstructs_a_photo(tmp_path):
    import tfface
    from tfface.data.synthetic import render_synthetic
    from tfface.layers import Renderer
    from tfface.overlay import to_uint8, write_image
    data = render_synthetic(Renderer.from_model(tfface.load_model(), (256, 256)), 1, seed=1)
    write_image(str(tmp_path / "face.png"), to_uint8(data["image"][0] / 255.0))
    faces = tfface.FaceReconstructor().reconstruct(tfface.read_image(str(tmp_path / "face.png")))
    assert len(faces) == 1 and isinstance(faces[0], tfface.FaceReconstruction)
    truth = np.asarray(data["landmarks"][0])
    eyes = np.linalg.norm(truth[36] - truth[45])
    # MediaPipe's points on a render of the default model: the fitted face's
    # 68 points within a fifth of the eye distance of the true ones
    assert np.median(np.linalg.norm(faces[0].landmarks2d - truth, axis=1)) < 0.2 * eyes
