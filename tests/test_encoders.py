"""Every backbone builds, starts at the mean face, survives a .keras round trip,
and gets its statistics from tests' like_trained; configs know the same names."""

from __future__ import annotations

import numpy as np
import pytest

from tfface.config import BACKBONE_NAMES, load_config
from tfface.encoders import BACKBONES, backbone_of, build_encoder
from tfface.errors import TfFaceError
from tfface.params import FaceParams


def test_config_choices_are_the_registry():
    assert tuple(BACKBONES) == BACKBONE_NAMES


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_backbone_builds_and_round_trips(name, demo, tmp_path):
    import keras

    from tests.like_trained import like_trained
    layout = FaceParams.from_model(demo)
    encoder = build_encoder(layout, name, input_size=32)
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    assert np.all(encoder.predict(images, verbose=0) == 0)  # zero head: the mean face
    like_trained(encoder, images)  # finds this backbone's batch norms
    assert any(isinstance(l, keras.layers.BatchNormalization) for l in backbone_of(encoder).layers)
    want = encoder.predict(images, verbose=0)
    assert np.abs(want).max() > 0
    encoder.save(str(tmp_path / "e.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "e.keras"), compile=False)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), want, rtol=1e-4, atol=1e-5)


def test_unknown_backbone_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  encoder: vgg16\n")
    with pytest.raises(TfFaceError, match="model.encoder"):
        load_config(str(bad))
