"""magitui's engine: configuration, workspace, jobs and the pipeline stages.

Nothing in this package imports textual or rich, so every stage runs headless
(CLI, scripts, job processes) and a broken UI dependency cannot take it down.
"""

__version__ = "0.1.0"
