"""envcheck: the first thing to run on a Linux GPU box before training PyTorch models."""

__version__ = "0.1.0"
