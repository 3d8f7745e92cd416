import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import trimesh

from tfface.cli import main
from tfface.io_utils import OUTPUT_MARKER
from tfface.morphable import default_model


def test_demo_reconstructs_synthetic_photos(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--count", "2", "--size", "96"]) == 0
    image = cv2.imread(str(out / "demo_faces.png"))
    assert image.shape == (96, 4 * 96, 3)  # two rows of photo | reconstruction, side by side
    face = image[:, :96].astype(float)
    background = face[2, 2]
    assert np.abs(face - background).sum(-1).astype(bool).mean() > 0.2  # a face covers the frame
    mesh = trimesh.load(str(out / "face0_face0.obj"), process=False)
    assert len(mesh.vertices) == default_model().num_vertices  # ICT-FaceKit by default
    doc = json.loads((out / "face0_face0.json").read_text())
    assert set(doc["expressions"]) == set(default_model().expression_names)
    assert "jawOpen" in doc["expressions"]
    arkit = doc["arkit_blendshapes"]  # ARKit's own names: one cheekPuff, the sides' mean
    assert len(arkit) == 51 and arkit["eyeBlinkLeft"] == doc["expressions"]["eyeBlink_L"]
    assert arkit["cheekPuff"] == pytest.approx(
        (doc["expressions"]["cheekPuff_L"] + doc["expressions"]["cheekPuff_R"]) / 2)
    assert sorted(os.listdir(out)) == sorted(
        ["demo_faces.png", OUTPUT_MARKER] + [f"face{i}{suffix}" for i in range(2) for suffix in
                              (".png", ".pts", "_face0.obj", "_face0.json", "_overlay.png")])
    assert "recovered" in capsys.readouterr().out


def test_bad_model_gives_one_line_error_and_exit_code(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("garbage")
    result = subprocess.run([sys.executable, "-m", "tfface.cli", "demo", "--morphable-model",
                             str(bad), "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert result.returncode == 3
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("tfface: error:") and "bad.npz" in last
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_renamed_flags_keep_their_old_names_for_one_release(tmp_path, capsys):
    from tfface.cli import build_parser
    parser = build_parser()
    old = parser.parse_args(["reconstruct", "x.jpg", "--model", "demo"])
    assert old.morphable_model == "demo"
    assert "--model is deprecated" in capsys.readouterr().err
    assert parser.parse_args(["reconstruct", "x.jpg"]).morphable_model == "ict"
    assert parser.parse_args(["export", "--model", "e.keras", "--format", "onnx", "--out", "o"]
                             ).encoder == "e.keras"
    assert "use --encoder" in capsys.readouterr().err
    assert parser.parse_args(["export", "--encoder", "e.keras", "--format", "onnx", "--out", "o"]
                             ).encoder == "e.keras"
    assert capsys.readouterr().err == ""
    assert parser.parse_args(["export", "--encoder", "e.keras", "--format", "tflite", "--out", "o"]
                             ).format == "tflite-fp32"  # what a user may expect plain tflite to be
    assert main(["demo", "--model", "demo", "--out", str(tmp_path / "d"), "--count", "1",
                 "--size", "64"]) == 0
    mesh = trimesh.load(str(tmp_path / "d" / "face0_face0.obj"), process=False)
    from tfface.morphable import demo_model
    assert len(mesh.vertices) == demo_model().num_vertices


def test_reconstruct_refuses_a_folder_of_other_files(tmp_path):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"not ours")
    assert main(["demo", "--out", str(out), "--count", "1", "--size", "64"]) == 2
    assert os.listdir(out) == ["holiday.jpg"]
    assert main(["demo", "--out", str(out), "--count", "1", "--size", "64", "--overwrite"]) == 0
    assert (out / "holiday.jpg").read_bytes() == b"not ours" and (out / "face0.png").is_file()


def test_a_pts_file_of_another_photo_is_refused_by_name(tmp_path, capsys):
    from tfface.data.folder import read_pts, write_pts
    photos = tmp_path / "photos"
    assert main(["demo", "--out", str(photos), "--count", "1", "--size", "64"]) == 0
    pts = photos / "face0.pts"
    write_pts(str(pts), read_pts(str(pts)) * 4)  # the points of a photo 4x as large
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["reconstruct", str(photos / "face0.png"), "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(f"tfface: error: {pts}: ")
    assert "points lie outside the photo (64 x 64 px)" in error[0]
    assert not out.exists()


def test_no_progress_hides_the_progress_bar_and_keeps_the_result_lines(tmp_path, capsys):
    import shutil
    made, photos = tmp_path / "demo", tmp_path / "photos"
    assert main(["demo", "--out", str(made), "--count", "1", "--size", "64"]) == 0
    photos.mkdir()
    for name in ("face0.png", "face0.pts"):
        shutil.copy(made / name, photos / name)
    capsys.readouterr()
    runs = {}
    for flags in ([], ["--no-progress"]):
        out = tmp_path / f"out{len(flags)}"
        assert main(["reconstruct", str(photos), "--out", str(out), "--morphable-model", "demo"]
                    + flags) == 0
        runs[tuple(flags)] = capsys.readouterr()
    assert "1/1" in runs[()].err  # tqdm's bar: 1/1 photos
    assert "1/1" not in runs[("--no-progress",)].err
    for captured in runs.values():
        assert "1 of 1 photos reconstructed" in captured.out
