"""Default loss weights: the one source for training, fitting and configs.

They are those the shipped default encoder was trained with
(``configs/synthetic_encoder.yaml``), so ``reconstruct``'s landmark fit and
photometric ``--fit`` minimise the objective the encoder was trained on.
No TensorFlow import here: configs validate before TensorFlow starts.
"""

DEFAULT_LOSS_WEIGHTS = {"landmark": 1000.0, "photometric": 1.0, "shape": 1000.0}
"""Weights of the landmark, photometric and shape terms (the last counts
only where the true face is known: synthetic data); regularization is
weighted per group."""
DEFAULT_LANDMARK_EMPHASIS = 1.0
"""Weight of the nose-bridge and inner-mouth points; the others weigh 1."""
DEFAULT_REGULARIZATION = {"identity": 1e-3, "expression": 1e-3, "albedo": 1e-3}
"""Weights of the squared norms of each coefficient group."""
