"""magitui's engine: one package per pipeline stage over a few modules every stage shares.

Shared: `config`, `credentials`, `workspace`, `paths`, `atomic`, `prompts` (the one prompt
module), `durations` and `context` (what every front end opens first). Stages: `jobs`,
`generation`, `curation`, `training`, `chat`, `cache`, `machine` and `demo`. Nothing in this
package imports textual, rich or the UI, so every stage runs headless (CLI, scripts, job
processes) and a broken UI dependency cannot take it down.
"""

__version__ = "0.1.0"
