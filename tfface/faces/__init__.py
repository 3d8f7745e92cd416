"""Faces in photos: reading, detection + 68 landmarks, alignment, dataset preparation."""

from tfface.faces.align import AlignedFace, align_face, default_template, mean_face_template
from tfface.faces.image_io import ImageReadError, read_image

__all__ = ["AlignedFace", "ImageReadError", "align_face", "default_template",
           "mean_face_template", "read_image"]
