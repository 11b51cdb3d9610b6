"""The tests' tiny model is the demo's: one builder, in magitui_core.demo.tiny_model."""

from magitui_core.demo.tiny_model import TRAINING_TEXT, build_tiny_model

__all__ = ["TRAINING_TEXT", "build_tiny_model"]
