"""Per-image fitting: landmark fit (pose + shape from 68 points) and
analysis-by-synthesis through the renderer (photometric)."""

from tfface.fitting.landmarks import LandmarkFit, LandmarkFitter
from tfface.fitting.photometric import FitResult, PhotometricFitter, fit_params

__all__ = ["FitResult", "LandmarkFit", "LandmarkFitter", "PhotometricFitter",
           "fit_params"]
