"""Turning training settings into the command a job runs: plain Python on one device, or
`accelerate launch` (with a config file, or several processes on this machine)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pydantic import ValidationError

from magitui_core.training.settings import TrainSettings, argument_parser


class LaunchError(ValueError):
    """A training launch refused before starting; the message says what to fix."""


def validate_train_args(train_argv: list[str]) -> TrainSettings:
    """Parse and check the entry point's arguments here, before any process is started."""
    parser = argument_parser()
    try:
        namespace = parser.parse_args(train_argv)
    except SystemExit:
        raise LaunchError(f"invalid training arguments: {' '.join(train_argv)}") from None
    try:
        settings = TrainSettings(**vars(namespace))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(map(str, err["loc"]))
        raise LaunchError(
            f"--{field.replace('_', '-')} = {err.get('input')!r}: {err['msg']}"
        ) from None
    for path in settings.data:
        if not path.is_file():
            raise LaunchError(
                f"training data {path} does not exist — give the formatted file from "
                "`magitui preprocess` (instruction/response JSONL)"
            )
    local = Path(settings.base_model).expanduser()
    if local.exists() and not (local / "config.json").is_file():
        raise LaunchError(f"base model folder {local} has no config.json — is it a model folder?")
    # Checked, not created: a refused or dry-run launch leaves nothing behind.
    existing = settings.out.expanduser().absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise LaunchError(
            f"cannot create output folder {settings.out}: {existing} is not a writable folder — "
            "choose --out under a folder you can write"
        )
    return settings


def launch_command(
    train_argv: list[str], accelerate_config: Path | None = None, num_processes: int = 1
) -> list[str]:
    """The job's command line for these training arguments."""
    entry = ["-m", "magitui_core.training.sft", *train_argv]
    launcher = [sys.executable, "-m", "accelerate.commands.launch"]
    if accelerate_config is not None:
        if not accelerate_config.is_file():
            raise LaunchError(
                f"accelerate config {accelerate_config} does not exist — write one with "
                "`magitui accelerate-config` or the Setup screen"
            )
        return [*launcher, "--config_file", str(accelerate_config), *entry]
    if num_processes > 1:
        return [
            *launcher,
            "--multi_gpu",
            "--num_processes",
            str(num_processes),
            "--num_machines",
            "1",
            "--dynamo_backend",
            "no",
            *entry,
        ]
    return [sys.executable, *entry]
