"""Shared set-up for the benchmarks: a throwaway config + workspace, and the app in tmux."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.tmux_session import TmuxSession  # noqa: E402

# Text that the Home screen shows once it has rendered its first frame.
HOME_MARKER = "Jobs"


def isolated_env() -> dict[str, str]:
    """Point magitui at fresh files so a benchmark never touches the user's workspace."""
    base = Path(tempfile.mkdtemp(prefix="magitui-bench-"))
    env = {
        "MAGITUI_CONFIG": str(base / "config" / "config.toml"),
        "MAGITUI_CREDENTIALS": str(base / "config" / "credentials.toml"),
        "MAGITUI_HOME": str(base / "workspace"),
    }
    os.environ.update(env)
    return env


def cache_bytecode() -> None:
    """Compile magitui's modules to bytecode, as its first start does on a user's machine.

    Start-up is measured as users see it from their second start on. Where the environment
    forbids writing bytecode (PYTHONDONTWRITEBYTECODE, set on some shared boxes), every start
    would compile every magitui module from source, while the libraries it is compared with
    come compiled from their wheels."""
    import compileall

    import magitui
    import magitui_core

    for package in (magitui, magitui_core):
        compileall.compile_dir(str(Path(package.__file__).parent), quiet=1)


def magitui_command() -> list[str]:
    script = Path(sys.executable).parent / "magitui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "magitui"]


def app_process(terminal: TmuxSession) -> psutil.Process:
    """The Python process running the app inside the tmux pane."""
    pane = psutil.Process(terminal.pane_pid())
    for proc in [pane, *pane.children(recursive=True)]:
        if "python" in proc.name() or "magitui" in " ".join(proc.cmdline()):
            return proc
    return pane


__all__ = ["HOME_MARKER", "TmuxSession", "app_process", "isolated_env", "magitui_command"]


def run_measured(command: list[str], **popen: object) -> tuple[int, float, float]:
    """Run a child to its end: (exit code, its CPU seconds, its peak RSS in MiB).

    Read from the child's own rusage, so the CPU of anything else on the machine (a loopback
    server, the benchmark itself) is never counted."""
    process = subprocess.Popen(command, **popen)  # type: ignore[call-overload]
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux: KiB


__all__ += ["cache_bytecode", "run_measured"]
