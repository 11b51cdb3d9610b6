"""Where magitui keeps things: config file, credentials, workspace.

Every location can be overridden from the environment so tests and users with
unusual layouts never have to touch the defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "magitui"

CONFIG_ENV = "MAGITUI_CONFIG"
HOME_ENV = "MAGITUI_HOME"
CREDENTIALS_ENV = "MAGITUI_CREDENTIALS"


def config_file() -> Path:
    """The TOML config file: $MAGITUI_CONFIG, else the platform config dir."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def config_dir() -> Path:
    return config_file().parent


def credentials_file() -> Path:
    """Secrets live beside the config, never inside it (mode 0600)."""
    override = os.environ.get(CREDENTIALS_ENV)
    if override:
        return Path(override).expanduser()
    return config_dir() / "credentials.toml"


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def default_workspace() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def resolve_workspace(explicit: str | os.PathLike[str] | None, configured: Path | None) -> Path:
    """--workspace beats $MAGITUI_HOME beats config.toml beats the platform data dir."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    if configured is not None:
        return configured.expanduser().resolve()
    return default_workspace()
