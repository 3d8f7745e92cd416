import numpy as np
import pytest

from tfface.params import GROUPS, FaceParams


def test_layout_from_model_and_split_concat_roundtrip(small_model):
    layout = FaceParams.from_model(small_model)
    assert layout.sizes == {"identity": 4, "expression": 3, "albedo": 2, "illumination": 27,
                            "rotation": 3, "translation": 3, "scale": 1}
    assert layout.size == 43
    params = np.arange(2 * layout.size, dtype=np.float32).reshape(2, -1)
    groups = layout.split(params)
    assert list(groups) == list(GROUPS)
    np.testing.assert_array_equal(groups["rotation"].numpy(), params[:, 36:39])
    np.testing.assert_array_equal(layout.concat(groups).numpy(), params)
    np.testing.assert_array_equal(layout.split_numpy(params)["scale"], params[:, 42:43])


def test_concat_fills_missing_groups_with_zero_and_checks_sizes(small_model):
    layout = FaceParams.from_model(small_model)
    out = layout.concat({"rotation": np.ones((3, 3))}).numpy()
    assert out.shape == (3, layout.size)
    assert out.sum() == 9 and np.all(out[:, layout.slices["rotation"]] == 1)
    with pytest.raises(ValueError, match="rotation"):
        layout.concat({"rotation": np.ones((3, 2))})
    with pytest.raises(ValueError, match="unknown"):
        layout.concat({"pose": np.ones((3, 2))})


def test_names_use_expression_names_and_config_roundtrip(small_model):
    layout = FaceParams.from_model(small_model)
    names = layout.names()
    assert len(names) == layout.size and names[4:7] == ["expression/a", "expression/b",
                                                        "expression/c"]
    assert FaceParams.from_config(layout.get_config()) == layout
    with pytest.raises(ValueError, match="names"):
        FaceParams(identity=1, expression=2, albedo=0, expression_names=("x",))


def test_rolled_turns_the_head_about_the_view_axis():
    """Adding to the roll angle composes a rotation about the camera's z axis
    on the outside: R(rolled) = Rz(angle) R(params), for any pitch and yaw."""
    from tfface.pinhole import euler_matrix
    layout = FaceParams(identity=2, expression=1, albedo=0)
    rng = np.random.default_rng(3)
    for _ in range(5):
        params = rng.normal(size=layout.size)
        angle = rng.uniform(-np.pi, np.pi)
        turned = layout.rolled(params, angle)
        rotation = layout.slices["rotation"]
        np.testing.assert_allclose(euler_matrix(turned[rotation]),
                                   euler_matrix([0.0, 0.0, angle]) @ euler_matrix(params[rotation]),
                                   atol=1e-12)
        unchanged = np.ones(layout.size, bool)
        unchanged[rotation] = False
        np.testing.assert_array_equal(turned[unchanged], params[unchanged])
        np.testing.assert_allclose(layout.rolled(turned, -angle), params, atol=1e-12)
