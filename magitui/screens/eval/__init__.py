"""Eval: base vs fine-tuned pass@1, the results table, problems compared task by task."""
