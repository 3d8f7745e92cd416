"""Reliability probes: each reproduces a way a command once broke a promise
(lost a user's file, printed a traceback, left partial output) and asserts
the exit code, one stderr line without a traceback, no partial files, and
that the user's files are byte-for-byte intact."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tfface.cli import main
from tfface.io_utils import OUTPUT_MARKER, TEMPORARY_PREFIX, atomic_output, temporary_name

USER_FILES = {"thesis.tex": b"x\n", ".notes.partial-2023.txt": b"keep\n",
              ".backup.partial-2024.sql": b"select 1;\n", ".face.partial-1.onnx": b"mine"}
"""Names a user may choose, some like the temporaries of other tools."""


def _user_folder(folder) -> None:
    folder.mkdir(exist_ok=True)
    for name, data in USER_FILES.items():
        (folder / name).write_bytes(data)


def _assert_user_files_intact(folder) -> None:
    for name, data in USER_FILES.items():
        assert (folder / name).read_bytes() == data, name


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_b6_a_refused_folder_keeps_every_user_file(tmp_path, capsys, demo):
    from tfface.overlay import write_image
    photo = tmp_path / "photo.png"
    write_image(str(photo), np.full((64, 64, 3), 0.5, np.float32))
    out = tmp_path / "userdir"
    _user_folder(out)
    assert main(["reconstruct", str(photo), "--out", str(out)]) == 2
    assert "--overwrite" in _one_error_line(capsys)
    _assert_user_files_intact(out)
    assert sorted(os.listdir(out)) == sorted(USER_FILES)


def test_b6_only_tfface_temporaries_of_dead_runs_are_removed(tmp_path):
    from tfface.io_utils import claim_output_file, claim_output_folder
    _user_folder(tmp_path)
    dead = 2 ** 22 + 1  # above Linux's default pid_max: no such process
    stale = f"{TEMPORARY_PREFIX}{dead}-0123456789ab-face.onnx"
    other = f"{TEMPORARY_PREFIX}{dead}-0123456789ab-other.keras"
    live = temporary_name("face.onnx")  # this process's: still being written
    for name in (stale, other, live):
        (tmp_path / name).write_bytes(b"")
    claim_output_file(str(tmp_path / "face.onnx"), lambda _: False)
    # in a folder tfface does not own, only the target's own temporaries go
    assert not (tmp_path / stale).exists()
    assert (tmp_path / other).exists() and (tmp_path / live).exists()
    _assert_user_files_intact(tmp_path)
    owned = tmp_path / "owned"
    claim_output_folder(str(owned), "reconstruct")
    (owned / other).write_bytes(b"")
    (owned / "face0.obj").write_bytes(b"o")
    claim_output_folder(str(owned), "reconstruct")  # its own folder again: all stale ones go
    assert sorted(os.listdir(owned)) == sorted([OUTPUT_MARKER, "face0.obj"])


def test_b6_atomic_output_names_its_temporary_with_the_prefix(tmp_path):
    with atomic_output(str(tmp_path / "mesh.obj")) as tmp:
        assert os.path.basename(tmp).startswith(TEMPORARY_PREFIX) and tmp.endswith(".obj")
        open(tmp, "w").write("v 0 0 0\n")
    assert os.listdir(tmp_path) == ["mesh.obj"]


def test_b4_convert_model_refuses_a_file_it_did_not_write(tmp_path, capsys, demo):
    source = tmp_path / "source.npz"
    demo.save(str(source))
    mine = tmp_path / "mydata.npz"
    mine.write_bytes(b"mine\n")
    args = ["convert-model", "npz", str(source), "--out", str(mine)]
    assert main(args) == 2
    line = _one_error_line(capsys)
    assert "mydata.npz" in line and "--overwrite" in line
    assert mine.read_bytes() == b"mine\n"
    assert sorted(os.listdir(tmp_path)) == ["mydata.npz", "source.npz"]
    assert main(args + ["--overwrite"]) == 0
    assert main(args) == 0  # its own output now: re-converting needs no flag
    capsys.readouterr()
    from tfface.morphable import MorphableModel
    assert MorphableModel.load(str(mine)).num_vertices == demo.num_vertices
    assert sorted(os.listdir(tmp_path)) == ["mydata.npz", "source.npz"]


@pytest.fixture(scope="module")
def tiny_export():
    """A small encoder, its layout, the demo model and parity samples."""
    import keras

    from tfface.morphable import demo_model
    from tfface.params import FaceParams
    model = demo_model()
    layout = FaceParams.from_model(model)
    encoder = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, strides=4),
                                keras.layers.GlobalAveragePooling2D(),
                                keras.layers.Dense(layout.size, kernel_initializer="zeros")])
    samples = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    return encoder, layout, model, samples


@pytest.mark.parametrize("foreign", ["sidecar", "both"])
def test_b5_export_refuses_a_foreign_sidecar_or_model(tmp_path, tiny_export, foreign):
    from tfface.errors import TfFaceError
    from tfface.export.pipeline import export_encoder
    encoder, layout, model, samples = tiny_export
    out = tmp_path / "e.onnx"
    sidecar = tmp_path / "e.onnx.json"
    sidecar.write_text('{"mine": true}')
    if foreign == "both":
        out.write_bytes(b"my model")
    _user_folder(tmp_path)
    before = {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)}
    with pytest.raises(TfFaceError, match="--overwrite") as refused:
        export_encoder(encoder, layout, model, "onnx", str(out), samples, verbose=False)
    assert "\n" not in str(refused.value)
    assert {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)} == before
    export_encoder(encoder, layout, model, "onnx", str(out), samples, verbose=False,
                   overwrite=True)
    export_encoder(encoder, layout, model, "onnx", str(out), samples, verbose=False)  # ours now
    _assert_user_files_intact(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(list(USER_FILES) + ["e.onnx", "e.onnx.json"])
    out.write_bytes(out.read_bytes() + b"\0")  # changed since: its hash no longer matches
    with pytest.raises(TfFaceError, match="not a tfface export"):
        export_encoder(encoder, layout, model, "onnx", str(out), samples, verbose=False)


@pytest.fixture(scope="module")
def face_photo(tmp_path_factory):
    """A synthetic ICT photo ``face.png`` (128 px) and its true 68 points."""
    from tfface.data.synthetic import render_synthetic
    from tfface.layers import Renderer
    from tfface.morphable import default_model
    from tfface.overlay import to_uint8, write_image
    folder = tmp_path_factory.mktemp("face")
    data = render_synthetic(Renderer.from_model(default_model(), (128, 128)), 1, seed=3)
    write_image(str(folder / "face.png"), to_uint8(data["image"][0] / 255.0))
    return folder / "face.png", np.asarray(data["landmarks"][0])


def _degenerate_pts(path) -> None:
    from tfface.data.folder import write_pts
    write_pts(str(path), np.full((68, 2), 40.0))


def test_b1_degenerate_pts_skips_that_photo_and_the_folder_goes_on(tmp_path, capsys, face_photo):
    import shutil

    from tfface.data.folder import write_pts
    photo, points = face_photo
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a", "c"):  # the bad photo sorts between two good ones
        shutil.copy(photo, photos / f"{name}.png")
        write_pts(str(photos / f"{name}.pts"), points)
    shutil.copy(photo, photos / "b.png")
    _degenerate_pts(photos / "b.pts")
    out = tmp_path / "out"
    assert main(["reconstruct", str(photos), "--out", str(out), "--no-progress"]) == 4
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "2 of 3 photos reconstructed" in captured.out
    for name in ("a.png", "c.png"):  # each face on its line, as for one photo
        assert f"{name} face 0: pose (pitch " in captured.out
    assert "b.pts: all within 0 x 0 px" in captured.out
    written = set(os.listdir(out))
    assert {"a_face0.obj", "c_face0.obj"} <= written and not any(n.startswith("b_") for n in written)
    assert not [n for n in written if n.startswith(TEMPORARY_PREFIX)]


def test_b1_degenerate_pts_of_one_photo_and_in_prepare(tmp_path, capsys, face_photo):
    import json
    import shutil
    photo, _ = face_photo
    shutil.copy(photo, tmp_path / "b.png")
    _degenerate_pts(tmp_path / "b.pts")
    assert main(["reconstruct", str(tmp_path / "b.png"), "--out", str(tmp_path / "o")]) == 2
    assert "b.pts: all within" in _one_error_line(capsys)
    assert not (tmp_path / "o").exists()
    shards = tmp_path / "shards"
    assert main(["prepare", "--images", str(tmp_path), "--out", str(shards), "--workers", "1",
                 "--size", "32", "--no-progress"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    manifest = json.loads((shards / "manifest.json").read_text())
    assert [s["reason"] for s in manifest["skips"]] == ["bad_annotation"]


def test_b1_one_check_for_every_point_set():
    from tfface.faces.align import alignment_transform, default_template, landmark_problem
    good = np.random.default_rng(0).uniform(10, 90, (68, 2))
    assert landmark_problem(good) is None
    line = good.copy()
    line[:, 1] = 50.0  # all on one row: no face
    for bad, words in ((good[:60], "shape"), (np.full((68, 2), np.nan), "NaN"),
                       (np.full((68, 2), 3.0), "all within"), (line, "all within")):
        assert words in landmark_problem(bad)
        with pytest.raises(ValueError, match=words):
            alignment_transform(bad, 64, default_template())


@pytest.mark.parametrize("kind", ["device", "fifo"])
@pytest.mark.parametrize("command", ["reconstruct", "fit"])
def test_b8_special_files_are_refused_before_they_are_opened(tmp_path, capsys, kind, command):
    path = "/dev/zero" if kind == "device" else str(tmp_path / "fifo.jpg")
    if kind == "fifo":
        os.mkfifo(path)  # opening it to read would block forever
    out = tmp_path / "out"
    assert main([command, path, "--out", str(out)]) == 2
    assert "not a regular file" in _one_error_line(capsys)
    assert not out.exists()


@pytest.fixture(scope="module")
def vector_model(tmp_path_factory):
    """A valid ``.keras`` file that is no image encoder: input ``[B, 10]``."""
    import keras
    path = tmp_path_factory.mktemp("notencoder") / "vector.keras"
    keras.Sequential([keras.Input((10,)), keras.layers.Dense(3)]).save(str(path))
    return str(path)


@pytest.mark.parametrize("command", ["reconstruct", "export"])
def test_b9_a_keras_file_that_is_no_image_encoder_exits_3(tmp_path, capsys, vector_model,
                                                          face_photo, command):
    photo, _ = face_photo
    args = {"reconstruct": ["reconstruct", str(photo), "--encoder", vector_model],
            "export": ["export", "--encoder", vector_model, "--format", "onnx"]}[command]
    out = tmp_path / ("out" if command == "reconstruct" else "e.onnx")
    assert main(args + ["--out", str(out)]) == 3
    line = _one_error_line(capsys)
    assert "vector.keras: not a tfface image encoder (takes [B, 10]" in line
    assert os.listdir(tmp_path) == []


def test_b16_a_name_with_a_newline_stays_one_line(tmp_path, capsys):
    photo = tmp_path / "bad\nname.jpg"
    photo.write_bytes(b"not a photo")
    assert main(["reconstruct", str(photo), "--out", str(tmp_path / "o")]) == 2
    assert "bad\\nname.jpg" in _one_error_line(capsys)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "configs", "quickstart_cpu.yaml")
TINY_RUN = ["model.morphable_model=demo", "model.input_size=32", "data.synthetic_count=4",
            "data.batch_size=2", "schedule.steps=1", "schedule.image_every=1"]


def _train_py(argv, capsys) -> int:
    import importlib.util
    spec = importlib.util.spec_from_file_location("train_script", os.path.join(ROOT, "train.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script.main(argv)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A one-step training run of the demo model (its output_dir)."""
    from tfface.config import load_config
    from tfface.training import train
    out = tmp_path_factory.mktemp("run") / "run"
    train(load_config(RECIPE, TINY_RUN + [f"output_dir={out}"]), verbose=False)
    return out


@pytest.mark.parametrize("damage, message", [("truncated", "not valid JSON"),
                                             ("empty", "not a complete training config"),
                                             ("list", "not a training config")])
def test_b10_export_of_a_run_with_a_broken_config_json(tmp_path, capsys, finished_run,
                                                        damage, message):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    text = (run / "config.json").read_text()
    (run / "config.json").write_text({"truncated": text[:len(text) // 2], "empty": "{}",
                                      "list": "[1, 2]"}[damage])
    out = tmp_path / "e.onnx"
    assert main(["export", "--checkpoint", str(run), "--format", "onnx", "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert "config.json: " + message in line
    assert not out.exists() and not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_b11_resume_with_a_changed_config_names_the_keys(tmp_path, capsys, finished_run):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    before = sorted(os.listdir(run / "checkpoints"))
    code = _train_py(["--config", RECIPE, "--no-progress"] + [
        f"--override={o}" for o in TINY_RUN + [f"output_dir={run}", "schedule.steps=2",
                                                "model.encoder=mobilenet_v3_large",
                                                "optimizer.learning_rate=0.01"]], capsys)
    assert code == 2
    line = _one_error_line(capsys)
    assert "resuming with a changed model.encoder, optimizer.learning_rate" in line
    assert "schedule" not in line  # more steps is a resume, not a new run
    assert sorted(os.listdir(run / "checkpoints")) == before


@pytest.mark.parametrize("override, message", [
    ("output_dir=5", "'output_dir' is 5; give a path in quotes"),
    ("output_dir=2024", "'output_dir' is 2024"), ("output_dir=null", "'output_dir' is None"),
    ("data.path=7", "'data.path' is 7; give a path in quotes or null"),
    ("optimizer.learning_rate=.inf", "'optimizer.learning_rate' is inf"),
    ("optimizer.learning_rate=.nan", "'optimizer.learning_rate' is nan"),
    ("optimizer.learning_rate=10000.0", "give at most 1.0"),
    ("losses.landmark=.inf", "'losses.landmark' is inf"),
    ("losses.regularization.identity=.nan", "'losses.regularization.identity' is nan")])
def test_b12_b13_paths_and_non_finite_numbers_are_refused_before_tensorflow(
        tmp_path, capsys, override, message):
    out = tmp_path / "never"
    code = _train_py(["--config", RECIPE, f"--override=output_dir={out}",
                      f"--override={override}"], capsys)
    assert code == 2 and message in _one_error_line(capsys)
    assert not out.exists() and os.listdir(tmp_path) == []


def test_yaml_reads_1e_3_as_a_number(tmp_path):
    from tfface.config import load_config
    recipe = tmp_path / "r.yaml"
    recipe.write_text("optimizer:\n  learning_rate: 1e-3\nlosses:\n  landmark: 2E+1\n")
    config = load_config(str(recipe), ["optimizer.schedule=constant"])
    assert config["optimizer"]["learning_rate"] == 1e-3 and config["losses"]["landmark"] == 20.0
    assert load_config(None, ["optimizer.learning_rate=5e-4"])["optimizer"]["learning_rate"] == 5e-4


def test_b13_summaries_of_a_diverged_model_are_drawn():
    from tfface.overlay import draw_landmarks, to_uint8
    image = to_uint8(np.full((8, 8, 3), np.nan))
    assert image.dtype == np.uint8 and not image.any()
    drawn = draw_landmarks(np.zeros((16, 16, 3), np.uint8), np.array([[np.nan, 1.0], [8.0, 12.0]]))
    assert drawn[12, 8, 1] > 100 and not drawn[:6].any()  # the finite point only


def test_b7_photos_that_differ_only_by_extension_keep_both_results(tmp_path, capsys, face_photo):
    import shutil

    from PIL import Image

    from tfface.data.folder import write_pts
    photo, points = face_photo
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(photo, photos / "collide.png")
    Image.open(photo).transpose(Image.FLIP_LEFT_RIGHT).save(photos / "collide.jpg", quality=95)
    write_pts(str(photos / "collide.pts"), points)  # whose? refused for both
    out = tmp_path / "out"
    assert main(["reconstruct", str(photos), "--out", str(out), "--no-progress"]) == 4
    captured = capsys.readouterr()
    assert "0 of 2 photos reconstructed" in captured.out
    assert captured.out.count("collide.pts: belongs to more than one photo") == 2
    os.remove(photos / "collide.pts")
    mirrored = points.copy()
    mirrored[:, 0] = 127 - mirrored[:, 0]
    write_pts(str(photos / "collide.png.pts"), points)
    write_pts(str(photos / "collide.jpg.pts"), mirrored)
    assert main(["reconstruct", str(photos), "--out", str(out), "--no-progress"]) == 0
    assert "written as collide.jpg_face*" in capsys.readouterr().out
    import json
    found = {name: json.loads((out / f"{name}_face0.json").read_text())["pose_degrees"]["yaw"]
             for name in ("collide.png", "collide.jpg")}
    # the mirror image turns the other way: two results, not one written twice
    assert found["collide.png"] * found["collide.jpg"] < 0, found


def test_b14_a_second_run_into_a_folder_being_written_is_refused(tmp_path, capsys, face_photo):
    from tfface.io_utils import output_folder_for
    photo, _ = face_photo
    out = tmp_path / "new"
    with pytest.raises(RuntimeError):
        with output_folder_for(str(out), "reconstruct"):  # run A, which then fails
            assert main(["reconstruct", str(photo), "--out", str(out)]) == 2  # run B
            assert "another `tfface reconstruct` is writing" in _one_error_line(capsys)
            raise RuntimeError("run A fails")
    assert not out.exists()  # A undid its own claim; B never started its work


def test_b15_a_refused_photo_leaves_none_of_the_folders_it_made(tmp_path, capsys):
    from tfface.overlay import write_image
    photo = tmp_path / "noface.png"
    write_image(str(photo), np.full((64, 64, 3), 0.5, np.float32))
    (tmp_path / "nest").mkdir()
    (tmp_path / "nest" / "mine.txt").write_text("mine")
    assert main(["reconstruct", str(photo), "--out", str(tmp_path / "nest" / "a" / "b" / "c")]) == 2
    assert "no face found" in _one_error_line(capsys)
    assert os.listdir(tmp_path / "nest") == ["mine.txt"]


def test_b3_a_full_disk_in_the_atomic_writer_is_one_line(tmp_path):
    import errno

    from tfface.errors import TfFaceError
    with pytest.raises(TfFaceError, match="no space left on the device"):
        with atomic_output(str(tmp_path / "mesh.obj")) as tmp:
            open(tmp, "w").write("v 0 0 0\n")
            raise OSError(errno.ENOSPC, "No space left on device")  # as write() raises it
    assert os.listdir(tmp_path) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (needs root and mount; skipped otherwise)."""
    import subprocess
    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def _roll_video(path, reconstructor_model, count: int = 4) -> None:
    import cv2

    from tfface.layers import Renderer
    from tfface.overlay import to_uint8
    renderer = Renderer.from_model(reconstructor_model, (160, 160))
    params = renderer.layout.zeros(count)
    images = renderer(params, np.full((count, 160, 160, 3), 0.4, np.float32))["image"]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 160))
    for image in images.numpy():
        writer.write(cv2.cvtColor(to_uint8(image), cv2.COLOR_RGB2BGR))
    writer.release()


@pytest.mark.parametrize("kind", ["photo", "video", "prepare"])
def test_b2_b3_a_full_disk_exits_2_and_a_roomy_rerun_succeeds(tmp_path, capsys, small_disk,
                                                              face_photo, kind):
    import shutil

    from tfface.data.folder import write_pts
    from tfface.morphable import default_model
    photo, points = face_photo
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(12):  # prepare: shards of 12 faces at 128 px, ~600 KB
        shutil.copy(photo, photos / f"p{i}.png")
        write_pts(str(photos / f"p{i}.pts"), points)
    if kind == "video":
        source = tmp_path / "clip.avi"
        _roll_video(source, default_model())
    else:
        source = photos / "p0.png" if kind == "photo" else photos
    (small_disk / "filler").write_bytes(b"\0" * (1024 * 1024 - 48 * 1024))  # 48 KiB left

    def run(out) -> int:
        if kind == "prepare":
            return main(["prepare", "--images", str(source), "--out", str(out), "--size", "128",
                         "--workers", "1", "--no-progress"])
        return main(["reconstruct", str(source), "--out", str(out), "--no-progress"])

    out = small_disk / "o"
    assert run(out) == 2
    assert "no space left on the device" in _one_error_line(capsys)
    left = os.listdir(out) if out.exists() else []
    assert not [n for n in left if n.startswith(TEMPORARY_PREFIX)], left
    roomy = tmp_path / "roomy"
    assert run(roomy) == 0
    capsys.readouterr()
    assert any(n.endswith((".obj", ".mp4", ".tfrecord")) for n in os.listdir(roomy))


def test_b1_training_on_a_folder_with_a_degenerate_pts_is_one_line(tmp_path, capsys,
                                                                  face_photo):
    import shutil
    photo, _ = face_photo
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(photo, photos / "b.png")
    _degenerate_pts(photos / "b.pts")
    run = tmp_path / "run"
    code = _train_py(["--config", RECIPE, "--no-progress"] + [
        f"--override={o}" for o in TINY_RUN + ["data.source=folder", f"data.path={photos}",
                                                f"output_dir={run}"]], capsys)
    assert code == 2 and "b.pts: all within" in _one_error_line(capsys)
    assert not run.exists()


def test_a_video_without_frames_is_named_so(tmp_path, capsys):
    import cv2
    video = tmp_path / "empty.avi"
    cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64)).release()
    assert main(["reconstruct", str(video), "--out", str(tmp_path / "o")]) == 2
    assert "empty.avi: the video holds no frames" in _one_error_line(capsys)


def test_a_photo_beyond_the_detector_size_is_searched_downscaled(face_photo, monkeypatch):
    import cv2

    from tfface.faces import read_image
    from tfface.faces.landmarks import MediaPipeLandmarker
    from tfface.faces.mediapipe import DETECT_MAX_PIXELS, BlazeFaceDetector
    photo, points = face_photo
    side = 4500  # 20 MP
    assert side * side > DETECT_MAX_PIXELS
    large = cv2.resize(read_image(str(photo)), (side, side), interpolation=cv2.INTER_CUBIC)
    searched = []
    upright = BlazeFaceDetector.upright

    def recorded(self, image, *args, **kwargs):
        searched.append(image.shape[0] * image.shape[1])
        return upright(self, image, *args, **kwargs)

    monkeypatch.setattr(BlazeFaceDetector, "upright", recorded)
    faces = [f for f in MediaPipeLandmarker()(large) if f.problem is None]
    assert max(searched) <= DETECT_MAX_PIXELS
    scale = side / 128
    truth = (points + 0.5) * scale - 0.5
    eyes = np.linalg.norm(truth[36] - truth[45])
    # found in the original's pixels: the synthetic face's points within a
    # fifth of the eye distance (MediaPipe on this render: well under a tenth)
    assert len(faces) == 1
    assert np.median(np.linalg.norm(faces[0].landmarks - truth, axis=1)) < 0.2 * eyes


def test_a_face_cut_off_by_the_frame_is_called_partial(tmp_path, capsys, face_photo):
    from tfface.data.folder import write_pts
    from tfface.faces import read_image
    from tfface.overlay import write_image
    photo, points = face_photo
    cut = 80  # the bottom 48 rows go: the chin (y ~88) and the jaw's lower points
    write_image(str(tmp_path / "cut.png"), np.float32(read_image(str(photo))[:cut] / 255.0))
    visible = points.copy()
    visible[:, 1] = np.minimum(visible[:, 1], cut - 1)  # annotated at the edge, as seen
    write_pts(str(tmp_path / "cut.pts"), visible)
    assert main(["reconstruct", str(tmp_path / "cut.png"), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    at_edge = int(np.sum(visible[:, 1] > cut - 1.5))  # within the 1 px margin
    assert at_edge >= 3 and f"partial face: {at_edge} of 68 landmarks" in out
    import json
    assert json.loads((tmp_path / "o" / "cut_face0.json").read_text())["points_at_edge"] == at_edge
    write_image(str(tmp_path / "whole.png"), np.float32(read_image(str(photo)) / 255.0))
    write_pts(str(tmp_path / "whole.pts"), points)
    assert main(["reconstruct", str(tmp_path / "whole.png"), "--out", str(tmp_path / "o")]) == 0
    assert "partial face" not in capsys.readouterr().out
