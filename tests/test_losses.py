import numpy as np
import pytest

from tfface.losses import (default_landmark_weights, landmark_loss, photometric_loss,
                           regularization_loss, shape_loss)
from tfface.params import FaceParams


def test_landmark_loss_hand_values():
    target = np.zeros((2, 68, 2), np.float32)
    predicted = target.copy()
    predicted[0, 0] = [3.0, 4.0]   # distance 5 px on a weight-1 point
    predicted[1, 30] = [0.0, 10.0]  # distance 10 px on a weight-20 point (nose)
    weights = default_landmark_weights(emphasis=20.0)  # Deep3DFaceRecon's weighting
    assert weights.sum() == 56 + 12 * 20
    loss = landmark_loss(predicted, target, image_size=100.0, weights=weights).numpy()
    expected = np.mean([25 / 1e4 * 1 / weights.sum(), 100 / 1e4 * 20 / weights.sum()])
    assert loss == pytest.approx(expected, rel=1e-5)
    assert np.all(default_landmark_weights() == 1.0)  # the shipped recipe: all alike
    uniform = landmark_loss(predicted, target, 100.0, np.ones(68)).numpy()
    assert uniform == pytest.approx(np.mean([25e-4 / 68, 100e-4 / 68]), rel=1e-5)


def test_photometric_loss_hand_values():
    rendered = np.zeros((1, 2, 2, 3), np.float32)
    target = np.zeros_like(rendered)
    target[0, 0, 0] = [0.3, 0.4, 0.0]  # |d| = 0.5
    target[0, 1, 1] = [1.0, 1.0, 1.0]  # outside the mask: ignored
    mask = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]]], np.float32)
    assert photometric_loss(rendered, target, mask).numpy() == pytest.approx(0.5 / 2, rel=1e-3)
    assert photometric_loss(rendered, target, mask, robust=False).numpy() == pytest.approx(0.25 / 2)
    skin = np.array([[[[0.5], [0.0]], [[1.0], [1.0]]]], np.float32)
    assert photometric_loss(rendered, target, mask, pixel_weights=skin).numpy() == \
        pytest.approx(0.5 * 0.5 / 0.5, rel=1e-3)


def test_regularization_loss_hand_values():
    layout = FaceParams(identity=2, expression=1, albedo=1)
    params = layout.concat({"identity": [[1.0, 2.0], [0.0, 0.0]], "expression": [[3.0], [1.0]]})
    loss = regularization_loss(params, layout, {"identity": 0.5, "expression": 2.0})
    assert loss.numpy() == pytest.approx(np.mean([0.5 * 5 + 2 * 9, 2 * 1]))
    with pytest.raises(ValueError, match="pose"):
        regularization_loss(params, layout, {"pose": 1.0})


def test_shape_loss_hand_values():
    target = np.zeros((2, 3, 3), np.float32)
    vertices = target.copy()
    vertices[0, 0] = [3.0, 4.0, 0.0]   # 5 units off
    vertices[1, 2] = [0.0, 0.0, 10.0]  # 10 units off
    loss = shape_loss(vertices, target, scale=2.0).numpy()
    assert loss == pytest.approx((25 / 4 + 100 / 4) / 6, rel=1e-6)
    with pytest.raises(ValueError, match="shape_loss: target"):
        shape_loss(vertices, target[:, :, :2], 1.0)


def test_shape_term_compares_model_space_shapes_with_the_truth(small_model):
    """The shape term against the numpy model: pose, light and albedo do not
    count, identity and expression do; weighted into ``loss``."""
    from tfface.face_loss import FaceLoss
    from tfface.layers import Renderer
    renderer = Renderer.from_model(small_model, (16, 16))
    layout = renderer.layout
    rng = np.random.default_rng(3)
    truth = rng.normal(size=(2, layout.size)).astype(np.float32) * 0.3
    predicted = truth.copy()
    for group in ("rotation", "translation", "illumination", "albedo"):
        predicted[:, layout.slices[group]] += 0.2  # not shape: costs nothing
    predicted[:, layout.slices["identity"]] += [[0.5, 0, 0, 0], [0, 0, -1.0, 0]]
    predicted[:, layout.slices["expression"]] += [[0, 0.3, 0], [0, 0, 0]]
    want = np.mean([np.mean(np.sum((small_model.shape(p[layout.slices["identity"]],
                                                      p[layout.slices["expression"]])
                                    - small_model.shape(t[layout.slices["identity"]],
                                                        t[layout.slices["expression"]])) ** 2, 1))
                    for p, t in zip(predicted, truth)]) / small_model.width ** 2
    image = np.zeros((2, 16, 16, 3), np.float32)
    landmarks = np.zeros((2, 68, 2), np.float32)
    loss = FaceLoss({"shape": 50.0, "landmark": 0.0, "photometric": 0.0,
                     "regularization": {}})
    terms = loss.of_params(renderer, predicted, image, landmarks, truth)
    assert float(terms["shape"]) == pytest.approx(want, rel=1e-4)
    assert float(terms["loss"]) == pytest.approx(50.0 * want, rel=1e-4)
    assert float(loss.of_params(renderer, truth, image, landmarks, truth)["shape"]) == \
        pytest.approx(0.0, abs=1e-9)
    assert float(loss.of_params(renderer, predicted, image, landmarks)["shape"]) == 0.0


def _render_inputs(seed=0):
    rng = np.random.default_rng(seed)
    layout = FaceParams(identity=2, expression=1, albedo=1)
    params = rng.normal(size=(2, layout.size)).astype(np.float32)
    rendered = {"image": rng.uniform(size=(2, 8, 8, 3)).astype(np.float32),
                "mask": (rng.uniform(size=(2, 8, 8, 1)) > 0.5).astype(np.float32),
                "landmarks2d": rng.uniform(0, 8, (2, 68, 2)).astype(np.float32)}
    image = rng.uniform(size=(2, 8, 8, 3)).astype(np.float32)
    landmarks = rng.uniform(0, 8, (2, 68, 2)).astype(np.float32)
    return params, layout, rendered, image, landmarks


def test_face_loss_is_the_weighted_sum_of_the_pure_terms():
    from tfface.face_loss import FaceLoss
    section = {"landmark": 300.0, "landmark_emphasis": 4.0, "photometric": 2.0,
               "robust_photometric": False, "regularization": {"identity": 0.5, "albedo": 0.1},
               "shape": 0.0, "identity_consistency": 0.7, "distillation": {"rotation": 2.0}}
    loss = FaceLoss(section)
    params, layout, rendered, image, landmarks = _render_inputs()
    teacher = np.zeros_like(params)
    labels = {"person": np.array([4, 4]), "distill_weight": np.array([1.0, 0.0])}
    terms = {k: float(v) for k, v in loss(params, layout, rendered, image, landmarks,
                                          teacher, **labels).items()}
    want = {"landmark": float(landmark_loss(rendered["landmarks2d"], landmarks, 8.0,
                                            default_landmark_weights(4.0))),
            "photometric": float(photometric_loss(rendered["image"], image, rendered["mask"],
                                                  robust=False)),
            "regularization": float(regularization_loss(params, layout,
                                                        {"identity": 0.5, "albedo": 0.1})),
            "identity_consistency": float(np.sum((params[0, :2] - params[1, :2]) ** 2)),
            "distillation": 2.0 * float(np.sum(params[0, layout.slices["rotation"]] ** 2))}
    assert loss.names == ("landmark", "photometric", "regularization", "shape",
                          "identity_consistency", "distillation")
    for name, value in want.items():
        assert terms[name] == pytest.approx(value, rel=1e-5)
    assert terms["loss"] == pytest.approx(300 * want["landmark"] + 2 * want["photometric"]
                                          + want["regularization"]
                                          + 0.7 * want["identity_consistency"]
                                          + want["distillation"], rel=1e-5)
    assert loss.section() == section
    clone = FaceLoss.from_config(loss.get_config())
    assert float(clone(params, layout, rendered, image, landmarks, teacher,
                       **labels)["loss"]) == pytest.approx(terms["loss"], rel=1e-6)
    # photos: no true face, no person ids, no teacher: those terms are 0
    bare = loss(params, layout, rendered, image, landmarks)
    assert [float(bare[n]) for n in ("shape", "identity_consistency", "distillation")] == [0] * 3


def test_face_loss_defaults_are_the_shipped_recipe_and_unknown_keys_fail():
    import os

    from tfface.config import load_config
    from tfface.face_loss import FaceLoss, encoder_loss
    from tfface.encoders import SHIPPED_ENCODERS
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    recipes = {name: load_config(os.path.join(root, "configs", f"{name}_encoder.yaml"))["losses"]
               for name in SHIPPED_ENCODERS["ict"]}
    assert FaceLoss().section() == recipes["synthetic"]
    for name, path in SHIPPED_ENCODERS["ict"].items():
        assert encoder_loss(path).section() == recipes[name]  # carried in the file
    # the photo recipe adds training-only terms; what the fits read is the same
    fitted = ("landmark", "landmark_emphasis", "regularization")
    assert all(recipes["photo"][key] == recipes["synthetic"][key] for key in fitted)
    with pytest.raises(ValueError, match="unknown keys.*landmark_weight"):
        FaceLoss({"landmark_weight": 1.0})


def test_encoder_file_carries_its_loss_and_fitters_use_it(tmp_path, small_model):
    import keras

    from tfface.encoders import build_encoder
    from tfface.face_loss import FaceLoss, encoder_loss, save_encoder
    from tfface.fitting import LandmarkFitter
    from tfface.layers import Renderer
    renderer = Renderer.from_model(small_model, (32, 32))
    encoder = build_encoder(renderer.layout, input_size=32)
    loss = FaceLoss({"landmark": 10.0, "regularization": {"identity": 2.0, "expression": 0.0}})
    path = str(tmp_path / "encoder.keras")
    save_encoder(encoder, path, loss)
    assert keras.saving.load_model(path, compile=False).output_shape == encoder.output_shape
    assert encoder_loss(path).section() == loss.section()
    assert encoder_loss(str(tmp_path / "encoder.onnx")).section() == FaceLoss().section()
    # The landmark fit minimises that loss: identity only costs 2 |id|^2 here.
    fitter = LandmarkFitter(small_model, renderer.camera, loss)
    params = renderer.layout.zeros(1)[0]
    target = renderer.compute_for_render(params[None])["landmarks2d"].numpy()[0]
    params[renderer.layout.slices["identity"]] = [1.0, 0.0, 0.0, 0.0]
    moved = renderer.compute_for_render(params[None])["landmarks2d"].numpy()[0]
    want = 10.0 * np.mean(np.sum(((moved - target) / 32.0) ** 2, 1)) + 2.0
    assert fitter.loss(params, target) == pytest.approx(want, rel=1e-4)
