"""Output folders are claimed, never cleared; atomic writes leave nothing half-written."""

import json
import os

import pytest

from tfface.errors import TfFaceError
from tfface.io_utils import (LOCK_FILE, OUTPUT_MARKER, atomic_output, claim_output_folder,
                             output_folder_for, write_json_atomic)


def test_claim_refuses_foreign_content_and_keeps_it(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(TfFaceError, match="did not write.*--overwrite"):
        claim_output_folder(str(tmp_path), "reconstruct")
    assert os.listdir(tmp_path) == ["thesis.tex"]  # not even a marker was added
    claim_output_folder(str(tmp_path), "reconstruct", overwrite=True)
    assert (tmp_path / "thesis.tex").read_text() == "precious"
    assert json.loads((tmp_path / OUTPUT_MARKER).read_text()) == {"command": "reconstruct"}


def test_claim_accepts_new_empty_and_own_folders_only(tmp_path):
    out = tmp_path / "new" / "deeper"
    claim_output_folder(str(out), "prepare")
    (out / "shard-00000.tfrecord").write_bytes(b"x")
    claim_output_folder(str(out), "prepare")  # a re-run of the same command resumes
    with pytest.raises(TfFaceError, match="output of `prepare`"):
        claim_output_folder(str(out), "reconstruct")
    (tmp_path / "file").write_text("")
    with pytest.raises(TfFaceError, match="not a folder"):
        claim_output_folder(str(tmp_path / "file"), "demo")


def test_failed_block_undoes_only_an_unused_claim(tmp_path):
    for name in ("new", "empty", "used"):
        with pytest.raises(RuntimeError):
            if name != "new":
                (tmp_path / name).mkdir()
            with output_folder_for(str(tmp_path / name), "reconstruct"):
                if name == "used":
                    (tmp_path / name / "a_face0.obj").write_text("v 0 0 0")
                raise RuntimeError("no face found")
    assert sorted(os.listdir(tmp_path)) == ["empty", "used"] and not os.listdir(tmp_path / "empty")
    assert sorted(os.listdir(tmp_path / "used")) == [OUTPUT_MARKER, "a_face0.obj"]
    with output_folder_for(str(tmp_path / "ok"), "reconstruct") as out:
        assert sorted(os.listdir(out)) == [LOCK_FILE, OUTPUT_MARKER]  # held while it writes
        (tmp_path / "ok" / "a_face0.obj").write_text("v 0 0 0")
    assert sorted(os.listdir(tmp_path / "ok")) == [OUTPUT_MARKER, "a_face0.obj"]
    with output_folder_for(str(tmp_path / "nothing"), "reconstruct"):
        pass  # ended without writing: no folder left
    assert not (tmp_path / "nothing").exists()


def test_atomic_output_leaves_nothing_on_error_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "params.json"
    write_json_atomic(str(path), {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_output(str(path)) as tmp:
            with open(tmp, "w") as handle:
                handle.write("{half")
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"a": 1} and os.listdir(tmp_path) == ["params.json"]
    with atomic_output(str(tmp_path / "folder.d")) as tmp:  # folders too
        os.makedirs(os.path.join(tmp, "sub"))
    assert (tmp_path / "folder.d" / "sub").is_dir()
    with pytest.raises(TfFaceError, match="is a folder"):
        with atomic_output(str(tmp_path / "folder.d")):
            pass


def test_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path):
    from tfface.faces.prepare import prepare
    from tfface.io_utils import folder_lock
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(b"not a photo")
    out = tmp_path / "shards"
    claim_output_folder(str(out), "prepare")
    with folder_lock(str(out), "prepare"):
        with pytest.raises(TfFaceError, match="another `tfface prepare` is writing"):
            prepare(str(photos), str(out), progress=False)
        assert not [n for n in os.listdir(out) if n.startswith("shard")]  # nothing interleaved
    assert not (out / LOCK_FILE).exists()
    manifest = prepare(str(photos), str(out), progress=False)  # free again
    assert manifest["skipped"] == 1
