"""Morphable face models: the model class, its npz layout, loaders, the demo model."""

from tfface.morphable.demo import demo_model
from tfface.morphable.model import MorphableModel, NUM_LANDMARKS

__all__ = ["MorphableModel", "NUM_LANDMARKS", "demo_model"]
