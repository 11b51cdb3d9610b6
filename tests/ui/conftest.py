"""Fixtures for the TUI tests: a private config and workspace per test, stable rendering."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from magitui_core.context import Context, open_context

SECRET_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HF_TOKEN", "HF_TOKEN_PATH")

# Snapshots show the workspace and config paths, so those must not depend on tmp_path.
SNAPSHOT_WORKSPACE = Path("/tmp/magitui-snapshot-workspace")
SNAPSHOT_CONFIG_DIR = Path("/tmp/magitui-snapshot-config")


def _point_at(monkeypatch: pytest.MonkeyPatch, config_dir: Path, workspace: Path) -> None:
    monkeypatch.setenv("MAGITUI_CONFIG", str(config_dir / "config.toml"))
    monkeypatch.setenv("MAGITUI_CREDENTIALS", str(config_dir / "credentials.toml"))
    monkeypatch.setenv("MAGITUI_HOME", str(workspace))
    monkeypatch.setenv("HF_HOME", str(config_dir / "hf"))
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def ui_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every UI test gets its own config file and workspace, never the user's, and UTC
    clocks so absolute times render the same everywhere."""
    _point_at(monkeypatch, tmp_path / "config", tmp_path / "workspace")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield tmp_path
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking input cursor would make screenshots depend on timing."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture
def config_file() -> Path:
    return Path(os.environ["MAGITUI_CONFIG"])


@pytest.fixture
def write_config(config_file: Path):  # type: ignore[no-untyped-def]
    def write(text: str) -> Path:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(text, encoding="utf-8")
        return config_file

    return write


@pytest.fixture
def ctx() -> Iterator[Context]:
    """An open context on the test's workspace; jobs still alive at the end are stopped."""
    context = open_context()
    yield context
    for job in context.jobs.list_jobs():
        if job.is_live or job.state.value == "crashed":
            context.jobs.stop(job.id, grace=1)


@pytest.fixture
def snapshot_workspace(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixed workspace and config of the snapshot tests, wiped and refilled."""
    from snapshot_data import fill_workspace

    for folder in (SNAPSHOT_WORKSPACE, SNAPSHOT_CONFIG_DIR):
        shutil.rmtree(folder, ignore_errors=True)
    _point_at(monkeypatch, SNAPSHOT_CONFIG_DIR, SNAPSHOT_WORKSPACE)
    fill_workspace(SNAPSHOT_WORKSPACE)
    return SNAPSHOT_WORKSPACE
