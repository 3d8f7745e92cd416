"""Inference, stage by stage: a photo's faces -> encoder -> landmark fit (and
the optional photometric fit, :mod:`tfface.fitting`) -> a described face
(:mod:`~tfface.inference.reconstruct`), its UV texture
(:mod:`~tfface.inference.texture`), files written
(:mod:`~tfface.inference.outputs`), and videos
(:mod:`~tfface.inference.video`)."""

from tfface.inference.reconstruct import FaceReconstruction, FaceReconstructor

__all__ = ["FaceReconstruction", "FaceReconstructor"]
