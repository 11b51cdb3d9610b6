"""The Train screen and its line chart: training jobs with curves, numbers, log and checkpoints."""
