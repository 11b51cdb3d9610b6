"""The base models a new training can start from without a download: models in the Hugging
Face hub cache and the models earlier runs trained. Names only (a directory listing), so
offering them is instant even on a large cache."""

from __future__ import annotations

import os
from pathlib import Path

HUB_MODEL_PREFIX = "models--"


def cached_hub_models(hub: Path) -> list[str]:
    """Hub ids of the cached models that have a config.json in some snapshot (a model a
    download left half-made is not offered)."""
    try:
        entries = list(os.scandir(hub))
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.name.startswith(HUB_MODEL_PREFIX) or not entry.is_dir():
            continue
        snapshots = Path(entry.path) / "snapshots"
        try:
            complete = any((s / "config.json").is_file() for s in snapshots.iterdir())
        except OSError:
            continue
        if complete:
            found.append(entry.name[len(HUB_MODEL_PREFIX) :].replace("--", "/"))
    return sorted(found, key=str.lower)


def trained_models(runs_dir: Path) -> list[Path]:
    """The final models of the workspace's runs (runs/NAME/checkpoints/final), newest first."""
    try:
        runs = list(os.scandir(runs_dir))
    except OSError:
        return []
    finals = [Path(run.path) / "checkpoints" / "final" for run in runs if run.is_dir()]
    finals = [f for f in finals if (f / "config.json").is_file()]
    return sorted(finals, key=lambda f: f.stat().st_mtime, reverse=True)


def base_model_choices(hub: Path, runs_dir: Path) -> list[str]:
    """What the base model field offers: cached hub ids, then trained models' folders."""
    return [*cached_hub_models(hub), *map(str, trained_models(runs_dir))]
