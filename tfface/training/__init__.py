"""Training: the trainable model (:class:`FaceAutoencoder`: encoder ->
renderer -> :class:`~tfface.face_loss.FaceLoss`) and the run behind
``train.py`` (:mod:`~tfface.training.run`: strategy, data, checkpoints and
resume, summaries, ``encoder.keras``)."""

from tfface.training.autoencoder import FaceAutoencoder
from tfface.training.run import build_dataset, build_model, encoder_from_run, loss_summary, train

__all__ = ["FaceAutoencoder", "build_dataset", "build_model", "encoder_from_run", "loss_summary",
           "train"]
