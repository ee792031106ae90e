"""Shipped model checkpoints, installed as ``persian_stance.checkpoints``."""
