"""The code stays as clean as it is: ruff's lint and format, and mypy over both packages, run
with the tools' own command lines, so a change that breaks any of them fails the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_tool(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_ruff_finds_nothing_to_fix() -> None:
    result = run_tool("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_ruff_would_reformat_nothing() -> None:
    result = run_tool("ruff", "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_mypy_finds_no_type_errors(tmp_path: Path) -> None:
    # A cache of its own: the result cannot come from an earlier run over other code.
    # Both packages, as pyproject.toml's [tool.mypy] names them.
    result = run_tool("mypy", "--cache-dir", str(tmp_path / "cache"), timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
