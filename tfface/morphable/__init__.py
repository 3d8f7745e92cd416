"""Morphable face models: the model class, its npz layout, loaders, the demo model."""

from tfface.morphable.demo import demo_model
from tfface.morphable.model import MorphableModel, NUM_LANDMARKS


def load_model(path=None) -> MorphableModel:
    """The model ``.npz`` at ``path``, or the embedded demo model when None."""
    return demo_model() if path is None else MorphableModel.load(path)


__all__ = ["MorphableModel", "NUM_LANDMARKS", "demo_model", "load_model"]
