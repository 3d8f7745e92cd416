"""MediaPipe's blendshape model: names onto the model's, handedness, and the
expressions the landmark fit takes from it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_path
from tfface.arkit import ARKIT_NAMES, arkit_weights, model_blendshape_weights
from tfface.faces.blendshapes import BLENDSHAPE_NAMES, FaceBlendshapes

GAZE_SIDES = {"image right": ("eyeLookOut_L", "eyeLookIn_R"),
              "image left": ("eyeLookIn_L", "eyeLookOut_R")}
"""Eyes turned toward the photo's right look toward the subject's left: the
left eye out (away from the nose), the right eye in."""


def test_arkit_names_map_onto_ict_facekit_names_side_by_side():
    scores = {name: i / 100 for i, name in enumerate(BLENDSHAPE_NAMES)}
    names = ("eyeBlink_L", "eyeBlink_R", "cheekPuff_L", "cheekPuff_R", "jawOpen",
             "browInnerUp_R", "tongueOut", "custom")
    weights = model_blendshape_weights(scores, names)
    assert weights == {"eyeBlink_L": scores["eyeBlinkLeft"], "eyeBlink_R": scores["eyeBlinkRight"],
                       "cheekPuff_L": scores["cheekPuff"], "cheekPuff_R": scores["cheekPuff"],
                       "jawOpen": scores["jawOpen"], "browInnerUp_R": scores["browInnerUp"]}


def test_mediapipe_outputs_are_arkits_names_in_its_order():
    """Indices from MediaPipe's face_blendshapes_graph.cc (kBlendshapeNames)."""
    assert len(BLENDSHAPE_NAMES) == 52 and BLENDSHAPE_NAMES[0] == "_neutral"
    for index, name in ((9, "eyeBlinkLeft"), (10, "eyeBlinkRight"), (25, "jawOpen"),
                        (51, "noseSneerRight")):
        assert BLENDSHAPE_NAMES[index] == name
    assert len(ARKIT_NAMES) == 52 and "tongueOut" not in BLENDSHAPE_NAMES


def test_model_weights_under_arkits_names():
    weights = {"eyeBlink_L": 0.25, "eyeBlink_R": 0.5, "cheekPuff_L": 0.2, "cheekPuff_R": 0.6,
               "jawOpen": 0.75, "custom": 1.0}
    assert arkit_weights(weights) == pytest.approx(
        {"cheekPuff": 0.4, "eyeBlinkLeft": 0.25, "eyeBlinkRight": 0.5, "jawOpen": 0.75})
    assert list(arkit_weights(weights)) == sorted(arkit_weights(weights))


def test_every_default_model_blendshape_has_a_mediapipe_score():
    from tfface.morphable import load_model
    names = load_model(None).expression_names
    assert len(names) == 53
    assert set(model_blendshape_weights(dict.fromkeys(BLENDSHAPE_NAMES, 0.5), names)) == set(names)
    assert set(arkit_weights(dict.fromkeys(names, 0.5))) == set(BLENDSHAPE_NAMES[1:])


def test_blendshape_model_refuses_points_that_are_not_a_face_mesh():
    with pytest.raises(ValueError, match=r"\[478, 2\+\]"):
        FaceBlendshapes(threads=1)(np.zeros((468, 3)))


@pytest.fixture(scope="module")
def reconstructor():
    from tfface.inference.reconstruct import FaceReconstructor
    return FaceReconstructor()


def _gazing_photo(model, gaze) -> np.ndarray:
    """A frontal mean ICT face, 384 px, eyes painted looking ``gaze`` (eye widths)."""
    from tfface.cli import demo_params
    from tfface.data.photoreal import eyes_and_mouth, random_backgrounds
    from tfface.layers import Renderer
    from tfface.overlay import to_uint8
    renderer = Renderer.from_model(model, (384, 384))
    out = {k: v.numpy()[0] for k, v in renderer(demo_params(renderer.layout, 1, 0)).items()}
    rng = np.random.default_rng(1)
    behind = eyes_and_mouth(random_backgrounds(1, (384, 384), rng)[0], out["landmarks2d"], rng,
                            gaze=gaze)
    return to_uint8(np.clip(out["image"], 0, 1) * out["mask"] + behind * (1 - out["mask"]))


@pytest.mark.parametrize("side,gaze", [("image right", (0.12, 0.0)),
                                       ("image left", (-0.12, 0.0))])
def test_reconstruction_takes_the_gaze_it_sees_from_mediapipe(reconstructor, side, gaze):
    face, = reconstructor.reconstruct(_gazing_photo(reconstructor.model, gaze))
    looking = GAZE_SIDES[side]
    away = GAZE_SIDES["image left" if side == "image right" else "image right"]
    for name in looking:
        assert face.expressions[name] > 0.2, (name, face.expressions[name])
    for name in away:
        assert face.expressions[name] < 0.05, (name, face.expressions[name])


def test_landmark_fit_takes_only_unseen_and_eyelid_expressions_from_scores(reconstructor):
    from tfface.fitting.landmarks import SCORED_EXPRESSIONS, UNSEEN_EXPRESSIONS
    fitter = reconstructor.landmark_fitter
    names = reconstructor.model.expression_names
    expression = reconstructor.layout.slices["expression"]
    target = fitter.fit(np.zeros((68, 2)) + 56.0).landmarks  # any face's landmarks
    without = fitter.fit(target).params[expression]
    given = fitter.fit(target, blendshapes=dict.fromkeys(BLENDSHAPE_NAMES, 0.7)).params[expression]
    taken = np.array([n.startswith(UNSEEN_EXPRESSIONS + SCORED_EXPRESSIONS) for n in names])
    assert taken.sum() == 20  # 14 unseen, blink / squint / wide of both eyes
    np.testing.assert_allclose(given[taken], 0.7, atol=1e-6)
    assert np.abs(without[taken]).max() < 1e-6  # from the mean face: none
    assert np.all(np.abs(given[~taken] - 0.7) > 1e-3)  # solved, not copied


def test_a_closed_eye_is_fitted_without_scores_and_scored_with_them(reconstructor):
    """Exact landmarks of a face with its left eye closed: the fit sees the
    lids meet; given scores, it takes the score instead."""
    from tfface.cli import demo_params
    layout, names = reconstructor.layout, reconstructor.model.expression_names
    params = demo_params(layout, 1, 0)
    params[0, layout.slices["expression"].start + names.index("eyeBlink_L")] = 1.0
    target = reconstructor.renderer.compute_for_render(params)["landmarks2d"].numpy()[0]
    fitter = reconstructor.landmark_fitter
    blink = layout.slices["expression"].start + names.index("eyeBlink_L")
    assert fitter.fit(target, jaw="fixed").params[blink] > 0.5
    scores = {**dict.fromkeys(BLENDSHAPE_NAMES, 0.0), "eyeBlinkLeft": 0.9}
    assert fitter.fit(target, jaw="fixed", blendshapes=scores).params[blink] == pytest.approx(0.9)


def test_gaze_of_the_two_annotated_breaking_bad_faces(reconstructor):
    """Jesse (image left) looks toward the photo's left, Walter (right) toward
    its right, though his head is turned to its left (irises looked at in
    the photo enlarged)."""
    from tfface.faces import read_image
    faces = reconstructor.reconstruct(read_image(shared_path("faces", "breakingbad.jpg")))
    by_x = sorted(faces, key=lambda f: f.input_landmarks[:, 0].mean())[-2:]
    for face, side in zip(by_x, ("image left", "image right")):
        for name in GAZE_SIDES[side]:
            assert face.expressions[name] > 0.5, (side, name, face.expressions[name])


def test_photometric_fit_leaves_the_scored_expressions_as_scored(reconstructor):
    """``--fit`` after the landmark fit: what the landmarker scored (gaze,
    eyelids, ...) stays as it scored it; the other params move."""
    photo = _gazing_photo(reconstructor.model, (0.0, 0.0))
    face, = reconstructor.reconstruct(photo)
    scores = {**dict.fromkeys(BLENDSHAPE_NAMES, 0.0), "eyeBlinkLeft": 0.6, "eyeLookUpRight": 0.4}
    landmark_only, = reconstructor.reconstruct(photo, [face.input_landmarks], detected=True,
                                               blendshapes=[scores])
    fitted, = reconstructor.reconstruct(photo, [face.input_landmarks], detected=True,
                                        blendshapes=[scores], fit_steps=5)
    assert fitted.expressions["eyeBlink_L"] == pytest.approx(0.6)
    assert fitted.expressions["eyeLookUp_R"] == pytest.approx(0.4)
    held = reconstructor.landmark_fitter.kept_entries(scores, rotation_held=True)
    assert held[reconstructor.layout.slices["rotation"]].all()
    np.testing.assert_array_equal(fitted.params[held], landmark_only.params[held])
    assert np.abs(fitted.params[~held] - landmark_only.params[~held]).max() > 1e-3
