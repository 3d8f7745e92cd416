"""Shared fixtures: ../shared data (skipped when absent) and small test meshes."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared"))


def shared_path(*parts: str) -> str:
    """Path under ../shared, or skip the test with the reason."""
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip(f"{path} not present (../shared is only in the development checkout)")
    return path


@pytest.fixture(scope="session")
def small_model():
    """A tiny random morphable model on an icosphere (642 vertices)."""
    import trimesh

    from tfface.morphable import MorphableModel
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=80.0)
    rng = np.random.default_rng(0)
    v = len(sphere.vertices)
    front = np.flatnonzero(sphere.vertices[:, 2] > 40)
    return MorphableModel(
        mean_shape=sphere.vertices * [1.0, 1.2, 0.9], id_basis=rng.normal(size=(3 * v, 4)) * 2,
        exp_basis=rng.normal(size=(3 * v, 3)) * 2, triangles=sphere.faces,
        landmark_indices=rng.choice(front, 68), mean_albedo=rng.uniform(0.3, 0.9, (v, 3)),
        albedo_basis=rng.normal(size=(3 * v, 2)) * 0.05, expression_names=("a", "b", "c"),
        name="small")


@pytest.fixture(scope="session")
def demo():
    from tfface.morphable import demo_model
    return demo_model()
