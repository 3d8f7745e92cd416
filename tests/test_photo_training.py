"""Training on real photo sets: the masked, multi-view and teacher terms, the
sets' readers, and a few steps on real photos."""

import json
import os

import numpy as np
import pytest

from tests.conftest import shared_path
from tfface.config import load_config
from tfface.data.photo_sets import (CFP_ORIGIN, CFP_TO_IBUG, cfp_points, read_cfp,
                                    read_pts_set, read_unannotated, subset_transform)
from tfface.errors import TfFaceError
from tfface.faces.mesh_map import IBUG_MIRROR
from tfface.losses import distillation_loss, identity_consistency_loss, landmark_loss
from tfface.params import FaceParams


def test_masked_landmark_loss_equals_a_hand_computation_on_a_partial_set():
    target = np.zeros((2, 68, 2), np.float32)
    predicted = target.copy()
    mask = np.zeros((2, 68), np.float32)
    mask[0, [0, 1, 2]] = 1        # face 0: three annotated points
    predicted[0, 0] = [3.0, 4.0]  # 5 px off
    predicted[0, 5] = [60.0, 80.0]  # 100 px off, but not annotated
    target[0, 6] = np.nan         # not annotated: even NaN adds nothing
    mask[1, 10] = 1               # face 1: one point, 10 px off
    predicted[1, 10] = [0.0, 10.0]
    loss = landmark_loss(predicted, target, 100.0, np.ones(68), mask).numpy()
    expected = np.mean([25e-4 / 3, 100e-4 / 1])
    assert loss == pytest.approx(expected, rel=1e-5)
    # the masked points' own part is exactly zero: moving them changes nothing
    moved = predicted.copy()
    moved[:, 20:] += 1000.0
    assert landmark_loss(moved, target, 100.0, np.ones(68), mask).numpy() == loss
    # a face with no annotated point adds 0
    assert landmark_loss(predicted, target, 100.0, np.ones(68), np.zeros((2, 68))).numpy() == 0.0


def test_masked_landmark_loss_has_zero_gradient_on_masked_points():
    import tensorflow as tf
    predicted = tf.Variable(np.random.default_rng(0).normal(size=(1, 68, 2)).astype(np.float32))
    target = np.zeros((1, 68, 2), np.float32)
    mask = np.zeros((1, 68), np.float32)
    mask[0, :30] = 1
    with tf.GradientTape() as tape:
        loss = landmark_loss(predicted, target, 10.0, np.ones(68), mask)
    gradient = tape.gradient(loss, predicted).numpy()
    assert np.all(gradient[0, 30:] == 0.0)
    assert np.all(gradient[0, :30] != 0.0)


def test_identity_consistency_is_zero_for_equal_codes_and_a_pair_mean_otherwise():
    codes = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [5.0, 5.0]], np.float32)
    assert identity_consistency_loss(codes, np.array([7, 7, -1, -1])).numpy() == 0.0
    # unknown people (negative ids) are never paired, even with each other
    assert identity_consistency_loss(codes, np.array([-1, -1, -1, -1])).numpy() == 0.0
    # pairs (0, 2) and (1, 3): |(1,2)|^2 = 5, |(4,3)|^2 = 25
    value = identity_consistency_loss(codes, np.array([3, 4, 3, 4])).numpy()
    assert value == pytest.approx((5 + 25) / 2)
    # three photos of one person: the mean over the three pairs
    three = identity_consistency_loss(codes[[0, 2, 3]], np.array([1, 1, 1])).numpy()
    assert three == pytest.approx((5 + 25 + 50) / 3)


def test_distillation_loss_hand_values():
    layout = FaceParams(identity=2, expression=1, albedo=1)
    params = layout.zeros(2)
    target = layout.zeros(2)
    target[:, layout.slices["identity"]] = [[1.0, 1.0], [3.0, 0.0]]
    target[:, layout.slices["rotation"].start] = [0.1, 0.5]
    weights = {"identity": 2.0, "rotation": 10.0}
    value = distillation_loss(params, target, layout, weights, np.array([1.0, 0.0])).numpy()
    assert value == pytest.approx(2.0 * 2 + 10.0 * 0.01, rel=1e-5)  # only example 0 counts
    both = distillation_loss(params, target, layout, weights, np.array([1.0, 1.0])).numpy()
    assert both == pytest.approx((4.1 + (2.0 * 9 + 10.0 * 0.25)) / 2, rel=1e-5)
    assert distillation_loss(params, target, layout, weights, np.zeros(2)).numpy() == 0.0


def test_cfp_points_follow_the_side_of_the_face_that_is_seen():
    rng = np.random.default_rng(1)
    raw = rng.uniform(20, 80, (30, 2))
    raw[0, 0], raw[21, 0] = 10.0, 50.0  # ear end left of the nose tip: iBUG 0-8 side
    left = cfp_points(raw)
    for fiducial, ibug in enumerate(CFP_TO_IBUG):
        if ibug is not None:
            np.testing.assert_allclose(left[ibug], raw[fiducial] - CFP_ORIGIN)
    assert np.sum(np.all(np.isfinite(left), 1)) == 29
    mirrored = raw.copy()
    mirrored[:, 0] = 100.0 - raw[:, 0]  # the same face seen from its other side
    right = cfp_points(mirrored)
    for fiducial, ibug in enumerate(CFP_TO_IBUG):
        if ibug is not None:
            assert right[IBUG_MIRROR[ibug], 1] == pytest.approx(raw[fiducial, 1] - CFP_ORIGIN)
    assert np.all(np.isfinite(right[:9])) == False  # noqa: E712  its 0-8 side is hidden
    assert np.all(np.isfinite(right[8:17]))


def test_subset_transform_maps_a_partial_set_onto_its_template_points():
    template = np.random.default_rng(2).uniform(0.2, 0.8, (68, 2))
    points = np.full((68, 2), np.nan)
    seen = np.arange(0, 68, 3)
    points[seen] = (template[seen] * 100 - 0.5 - 7.0) / 2.0  # the crop at half scale, shifted
    transform = subset_transform(points, 100, template)
    mapped = points[seen] @ transform[:, :2].T + transform[:, 2]
    np.testing.assert_allclose(mapped, template[seen] * 100 - 0.5, atol=1e-9)


def test_landmark_fit_ignores_masked_points_whatever_their_values():
    from tfface.fitting.landmarks import LandmarkFitter
    from tfface.morphable import default_model
    from tfface.pinhole import PinholeCamera
    model = default_model()
    fitter = LandmarkFitter(model, PinholeCamera.for_model(model, (112, 112)))
    truth = fitter.layout.zeros(1)[0].astype(np.float64)
    truth[fitter.layout.slices["rotation"].start + 1] = 0.4
    target = fitter.project(truth, model.landmark_indices)
    mask = np.ones(68)
    mask[[0, 1, 2, 3, 36, 37]] = 0
    garbage = target.copy()
    garbage[mask == 0] = np.nan
    other = target.copy()
    other[mask == 0] += 40.0
    one = fitter.fit(garbage, jaw="fixed", mask=mask)
    two = fitter.fit(other, jaw="fixed", mask=mask)
    np.testing.assert_array_equal(one.params, two.params)
    assert np.isfinite(one.loss_after)


def test_photo_set_config_is_checked(tmp_path):
    with pytest.raises(TfFaceError, match="needs data.photos"):
        load_config(None, ["data.source=photos"])
    with pytest.raises(TfFaceError, match=r"data.photos\[0\]: format 'jpeg'"):
        load_config(None, ["data.source=photos", f"data.photos=[{{format: jpeg, path: {tmp_path}}}]"])
    missing = load_config(None, ["data.source=photos",
                                 f"data.photos=[{{format: pts, path: {tmp_path / 'no'}}}]"])
    from tfface.data.photo_sets import read_photo_sets
    with pytest.raises(TfFaceError, match="no such folder"):  # when training reads it
        read_photo_sets(missing["data"]["photos"])
    with pytest.raises(TfFaceError, match="people"):
        load_config(None, ["data.source=photos",
                           f"data.photos=[{{format: cfp, path: {tmp_path}, people: [5, 1]}}]"])
    with pytest.raises(TfFaceError, match="synthetic_share"):
        load_config(None, ["data.synthetic_share=1.0"])
    with pytest.raises(TfFaceError, match="losses.distillation"):
        load_config(None, ["losses.distillation={pose: 1.0}"])
    config = load_config(None, ["data.source=photos", f"data.photos=[{{format: pts, path: {tmp_path}}}]",
                                "losses.distillation.rotation=3.0"])
    assert config["losses"]["distillation"] == {"rotation": 3.0}


def test_each_photo_set_reader_reads_the_shared_sets():
    cfp = read_cfp(shared_path("photos", "cfp"), people=[401, 402])
    assert len(cfp) == 28 and {r.person for r in cfp} == {400, 401}
    assert all(os.path.isfile(r.path) and r.mask.sum() == 29 for r in cfp)
    with open(shared_path("photos", "cfp", "fiducials.json"), encoding="utf-8") as handle:
        raw = np.array(json.load(handle)["points"]["401/frontal/01"])
    # a frontal photo's fiducials lie on the image's left half: iBUG 0 is fiducial 0
    np.testing.assert_allclose(cfp[0].points[0], raw[0] - 1.0)
    helen = read_pts_set(shared_path("photos", "helen_afw", "helen_test"))
    assert len(helen) == 330 and all(r.mask.sum() == 68 and r.person == -1 for r in helen)
    utk = read_unannotated(shared_path("photos", "utkface"))
    assert len(utk) == 2000 and all(r.points is None and r.person == -1 for r in utk)


def test_a_few_training_steps_on_real_photos_lower_the_loss(tmp_path):
    """Repeated batches of real photos (CFP with person ids, HELEN) and
    synthetic faces: the encoder's loss on them falls within 30 steps."""
    import tensorflow as tf
    from tfface.data.photo_sets import photo_arrays
    from tfface.data.pipeline import mixed_dataset, unpack_batch
    from tfface.data.synthetic import render_synthetic
    from tfface.training import build_model
    records = read_cfp(shared_path("photos", "cfp"), people=[401, 401]) + \
        read_pts_set(shared_path("photos", "helen_afw", "helen_test"))[:8]
    photos = photo_arrays(records, 64, progress=False)
    assert photos["distill_weight"].mean() > 0.8  # the fit confirms most hand-placed sets
    config = load_config(None, [
        "model.input_size=64", "losses.identity_consistency=0.01",
        "losses.distillation={rotation: 10.0, identity: 1.0e-3, expression: 0.1}",
        "optimizer.learning_rate=1e-3", "optimizer.schedule=constant"])
    model = build_model(config)
    synthetic = render_synthetic(model.renderer, 8, seed=0)
    batch = next(iter(mixed_dataset(synthetic, photos, 8, 0.5, seed=0, steps=1, augment=False)))
    unpacked = unpack_batch(batch)
    assert unpacked.person.shape == (8,) and unpacked.landmark_mask.shape == (8, 68)
    assert float(tf.reduce_sum(unpacked.shape_weight)) == 4  # half synthetic
    assert float(tf.reduce_sum(unpacked.landmark_mask[:4])) < 4 * 68  # photos first: CFP's partial sets
    before = float(model.compute_terms(unpacked, training=True)["loss"])
    for _ in range(30):
        model.train_step(batch)
    after = float(model.compute_terms(unpacked, training=True)["loss"])
    assert after < 0.8 * before


def test_shipped_encoders_are_chosen_by_name():
    from tfface.config import SHIPPED_ENCODER_NAMES
    from tfface.encoders import DEFAULT_ENCODERS, SHIPPED_ENCODERS, encoder_file
    assert tuple(SHIPPED_ENCODERS["ict"]) == SHIPPED_ENCODER_NAMES  # the config's list
    assert all(os.path.isfile(path) for names in SHIPPED_ENCODERS.values()
               for path in names.values())
    synthetic = encoder_file("synthetic", None)
    assert synthetic.endswith("synthetic_encoder.keras")
    assert encoder_file(None, "ict") == DEFAULT_ENCODERS["ict"] == encoder_file("photo", None)
    assert encoder_file("my.keras", None) == "my.keras"  # a path passes through
    with pytest.raises(TfFaceError, match="no such file nor shipped encoder"):
        encoder_file("synthetik", None)
    with pytest.raises(TfFaceError, match="no shipped encoder for this model"):
        encoder_file(None, "my_model.npz")


def test_reconstruct_with_encoder_synthetic_uses_the_synthetic_encoder(tmp_path, capsys):
    from tfface.cli import main
    from tfface.inference.reconstruct import FaceReconstructor
    assert FaceReconstructor("synthetic").encoder_path.endswith("synthetic_encoder.keras")
    photo = shared_path("photos", "helen_afw", "helen_test")
    first = sorted(p for p in os.listdir(photo) if p.endswith(".jpg"))[0]
    out = tmp_path / "out"
    assert main(["reconstruct", os.path.join(photo, first), "--encoder", "synthetic",
                 "--out", str(out)]) == 0
    assert list(out.glob("*_face0.json"))
    assert main(["reconstruct", os.path.join(photo, first), "--encoder", "synthetik",
                 "--out", str(tmp_path / "other")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "shipped: photo, synthetic" in error[0]
    assert not (tmp_path / "other").exists()
