"""A real terminal for tests and benchmarks: a private tmux server driven by send-keys."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


class TmuxSession:
    """One tmux server on its own socket, one window running ``command``.

    The server gets the caller's environment (plus ``env``), a 256-colour TERM like tmux's
    usual setup, and no user config, so runs are reproducible.
    """

    def __init__(
        self,
        command: list[str],
        width: int = 80,
        height: int = 24,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.socket = f"magitui-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._conf = Path(tempfile.mkdtemp()) / "tmux.conf"
        self._conf.write_text('set -g default-terminal "screen-256color"\nset -g status off\n')
        self.env = {**os.environ, **(env or {})}
        self.env.pop("TMUX", None)
        self._tmux(
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            str(width),
            "-y",
            str(height),
            shlex.join(command),
            cwd=cwd,
        )

    def _tmux(self, *args: str, cwd: str | None = None) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self._conf), *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "main", *keys)

    def capture(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "main")

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            try:
                screen = self.capture()
            except RuntimeError:
                screen = ""
            if text in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; screen:\n{screen}")

    def pane_pid(self) -> int:
        return int(self._tmux("display-message", "-p", "-t", "main", "#{pane_pid}").strip())

    def alive(self) -> bool:
        try:
            self._tmux("has-session", "-t", "main")
            return True
        except RuntimeError:
            return False

    def kill(self) -> None:
        """End the tmux server: every process in it gets SIGHUP, as on a dropped link."""
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._tmux("kill-server")

    def __enter__(self) -> TmuxSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
