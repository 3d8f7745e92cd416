"""Fuzz: broken and odd photos, model and encoder files, generated at test time.

Every input ends in a valid result or a named reason; commands exit with the
documented code and one line, no traceback, and leave no partial output.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from tfface.cli import main
from tfface.faces import ImageReadError, read_image
from tfface.io_utils import OUTPUT_MARKER

SEED = 20261125
REASONS = {"missing", "unreadable", "not_an_image", "truncated", "too_large"}


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def _bad_photos(folder) -> dict:
    """name -> "ok" (must read) or the expected reason; files written in ``folder``."""
    rng = np.random.default_rng(SEED)
    face = (rng.uniform(0, 255, (48, 40, 3))).astype(np.uint8)
    jpeg = io.BytesIO()
    Image.fromarray(face).save(jpeg, "JPEG")
    jpeg = jpeg.getvalue()
    png = _png(face)
    cases = {}

    def put(name, data, expect):
        (folder / name).write_bytes(data)
        cases[name] = expect

    for i in range(6):
        ext = (".jpg", ".png", ".webp", ".bmp", ".ppm", ".gif")[i]
        put(f"random{i}{ext}", rng.bytes(int(rng.integers(1, 4000))), {"not_an_image", "truncated"})
    for cut in sorted(set(rng.integers(1, len(jpeg) - 1, 6).tolist())):
        put(f"cut{cut}.jpg", jpeg[:cut], {"not_an_image", "truncated"})
    for cut in sorted(set(rng.integers(1, len(png) - 1, 6).tolist())):
        put(f"cut{cut}.png", png[:cut], {"not_an_image", "truncated"})
    bomb = bytearray(_png(np.zeros((8, 8), np.uint8)))
    bomb[16:24] = (100_000).to_bytes(4, "big") * 2  # IHDR claims 100k x 100k
    bomb[29:33] = zlib.crc32(bytes(bomb[12:29])).to_bytes(4, "big")  # with a valid CRC
    put("bomb.png", bytes(bomb), {"too_large"})
    put("empty.jpg", b"", {"not_an_image"})
    put("one.png", _png(face[:1, :1]), "ok")
    cmyk = io.BytesIO()
    Image.fromarray(face).convert("CMYK").save(cmyk, "JPEG")
    put("cmyk.jpg", cmyk.getvalue(), "ok")
    put("sixteen.png", _png(face[..., 0].astype(np.uint16) * 257), "ok")
    palette = Image.fromarray(face).convert("P")
    palette.info["transparency"] = 0
    buffer = io.BytesIO()
    palette.save(buffer, "PNG", transparency=0)
    put("palette.png", buffer.getvalue(), "ok")
    frames = [Image.fromarray(np.roll(face, k, 1)) for k in range(3)]
    for ext, fmt in ((".gif", "GIF"), (".webp", "WEBP")):
        buffer = io.BytesIO()
        frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:])
        put(f"animated{ext}", buffer.getvalue(), "ok")
    for orientation in range(1, 9):
        buffer = io.BytesIO()
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(face).save(buffer, "JPEG", exif=exif)
        put(f"exif{orientation}.jpg", buffer.getvalue(), "ok")
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "x" * 60000  # a huge ImageDescription
    Image.fromarray(face).save(buffer, "JPEG", exif=exif)
    put("huge_exif.jpg", buffer.getvalue(), "ok")
    put("locked.jpg", jpeg, {"unreadable"} if os.geteuid() != 0 else "ok")
    os.chmod(folder / "locked.jpg", 0)
    return cases


def test_read_image_names_every_failure(tmp_path):
    cases = _bad_photos(tmp_path)
    for name, expect in cases.items():
        path = str(tmp_path / name)
        if expect == "ok":
            image = read_image(path)
            assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, name
        else:
            with pytest.raises(ImageReadError) as error:
                read_image(path)
            assert error.value.reason in expect, (name, error.value.reason)
            assert error.value.reason in REASONS and "\n" not in str(error.value)
    (tmp_path / "x.jpg").mkdir()
    with pytest.raises(ImageReadError, match="is a folder"):
        read_image(str(tmp_path / "x.jpg"))
    assert len(cases) >= 30


def test_reconstruct_folder_of_bad_photos_lists_them_and_writes_nothing_partial(tmp_path,
                                                                                capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    cases = _bad_photos(photos)
    (photos / "x.jpg").mkdir()  # a folder named like a photo: not listed as a photo
    out = tmp_path / "out"
    assert main(["reconstruct", str(photos), "--out", str(out)]) == 4
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    bad = [n for n, e in cases.items() if e != "ok"]
    for name in bad:
        assert f"{name}:" in captured.out, name
    # random faces: no face found in any of them, so no output folder either
    assert not out.exists()


def test_reconstruct_folder_without_photos_exits_2_in_one_line(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / ".hidden.jpg").write_bytes(b"x")  # neither hidden files nor annotations count
    (photos / "face.pts").write_text("version: 1\n")
    out = tmp_path / "out"
    assert main(["reconstruct", str(photos), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == (f"tfface: error: {photos}: no photos in this folder; give a "
                                    "photo, a folder of photos or a video")
    assert not out.exists()


@pytest.mark.parametrize("case", ["truncated", "wrong_shape", "nan"])
def test_bad_model_files_exit_3(tmp_path, demo, case):
    path = tmp_path / "model.npz"
    if case == "truncated":
        demo.save(str(path))
        path.write_bytes(path.read_bytes()[:5000])
    else:
        arrays = {"mean_shape": demo.mean_shape, "id_basis": demo.id_basis,
                  "triangles": demo.triangles, "landmark_indices": demo.landmark_indices}
        if case == "wrong_shape":
            arrays["id_basis"] = demo.id_basis[:-3]
        else:
            arrays["id_basis"] = demo.id_basis.copy()
            arrays["id_basis"][5, 0] = np.nan
        np.savez(path, **arrays)
    result = subprocess.run([sys.executable, "-m", "tfface.cli", "demo", "--morphable-model", str(path),
                             "--encoder", "x.keras", "--out", str(tmp_path / "o")],
                            capture_output=True, text=True)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "model.npz" in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("ext", [".keras", ".tflite", ".onnx"])
def test_truncated_encoder_files_exit_3(tmp_path, ext):
    from tfface.encoders import DEFAULT_ENCODERS
    path = tmp_path / f"encoder{ext}"
    path.write_bytes(open(DEFAULT_ENCODERS["demo"], "rb").read()[:3000])
    result = subprocess.run([sys.executable, "-m", "tfface.cli", "demo", "--morphable-model", "demo",
                             "--encoder", str(path), "--out", str(tmp_path / "o")],
                            capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"encoder{ext}" in lines[0] and "Traceback" not in result.stderr


def test_encoder_of_another_model_exits_3(tmp_path):
    from tfface.encoders import DEFAULT_ENCODERS
    result = subprocess.run([sys.executable, "-m", "tfface.cli", "demo", "--morphable-model", "demo",
                             "--encoder", DEFAULT_ENCODERS["ict"], "--out", str(tmp_path / "o")],
                            capture_output=True, text=True)
    assert result.returncode == 3 and "params but model" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_video_that_ends_mid_frame(tmp_path, capsys):
    import cv2

    from tests.conftest import shared_path
    photo = read_image(shared_path("faces", "takeo.ppm"))
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                             (photo.shape[1], photo.shape[0]))
    for shift in range(6):
        writer.write(cv2.cvtColor(np.roll(photo, shift, axis=1), cv2.COLOR_RGB2BGR))
    writer.release()
    data = video.read_bytes()
    video.write_bytes(data[:int(len(data) * 0.6)])  # cut inside a frame
    out = tmp_path / "out"
    code = main(["reconstruct", str(video), "--out", str(out)])
    captured = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in captured.err
    written = set(os.listdir(out)) - {OUTPUT_MARKER}
    assert not [n for n in written if "partial" in n]
    if code == 0:  # the frames before the cut, complete
        lines = (out / "clip_params.jsonl").read_text().splitlines()
        assert 1 <= len(lines) < 6 and written == {"clip_overlay.mp4", "clip_params.jsonl"}
    else:
        assert "cannot decode" in captured.err and not written


def test_prepare_names_a_reason_for_every_bad_photo(tmp_path, capsys):
    import json
    photos = tmp_path / "photos"
    photos.mkdir()
    cases = _bad_photos(photos)
    out = tmp_path / "shards"
    assert main(["prepare", "--images", str(photos), "--out", str(out), "--workers", "1",
                 "--size", "32"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    reasons = {os.path.basename(s["file"]): s["reason"] for s in manifest["skips"]}
    for name, expect in cases.items():
        if expect != "ok":
            assert reasons[name] in expect, (name, reasons.get(name))
        else:  # readable, but random pixels hold no face
            assert reasons[name] in ("no_face", "face_too_small", "face_unconfirmed"), \
                (name, reasons.get(name))
    assert not [n for n in os.listdir(out) if "partial" in n]


@pytest.mark.parametrize("args", [
    ["demo", "--count", "0"], ["demo", "--size", "-5"], ["demo", "--fit", "-1"],
    ["prepare", "--images", ".", "--size", "0"], ["prepare", "--images", ".", "--shard-size", "0"],
    ["prepare", "--images", ".", "--workers", "0"], ["reconstruct", "x.jpg", "--texture", "-4"],
    ["reconstruct", "x.jpg", "--fit", "two"], ["fit", "x.jpg", "--steps", "0"],
    ["export", "--format", "onnx", "--samples", "0"]])
def test_bad_counts_and_sizes_exit_2_in_one_line_before_any_output(tmp_path, capsys, args):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as ended:
        main(args + ["--out", str(out)])
    assert ended.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"argument {args[-2]}: '{args[-1]}': give a whole number of at least" in last
    assert not out.exists()
