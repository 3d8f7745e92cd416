import numpy as np
import pytest

from tfface.losses import (default_landmark_weights, landmark_loss, photometric_loss,
                           regularization_loss)
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
