"""reference_train: a seeded cat/dog ResNet18 trainer that reads top to bottom.

It is both the trainer behind `envcheck smoke-train` and a readable example of the habits a good
PyTorch training script has (seeding, determinism, AMP, channels_last, exact resume).

synthetic.py and datacheck.py import without torch; everything else imports torch lazily or
directly, because torch comes from the optional [train] extra.
"""

from reference_train.errors import TrainError

__all__ = ["TrainError"]
