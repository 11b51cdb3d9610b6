"""Start-up figures, each beside a floor measured in the same run: the TUI's cold start to
first frame against a minimal Textual app (Header, DataTable, Footer) in the same terminal,
the import of magitui.app against textual.app's, and headless command latency.

Targets on a 2-core box: first frame ≤ 1.5× the minimal app's; import ≤ 1.5× textual.app's.
Prints figures and ratios; asserts nothing.
    python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import HOME_MARKER, TmuxSession, cache_bytecode, isolated_env, magitui_command

HEADLESS_PROBE = textwrap.dedent(
    """
    import time, psutil
    born = psutil.Process().create_time()
    from magitui.app import MagituiApp

    async def first_frame(pilot):
        await pilot.pause()
        print(f"{time.time() - born:.4f}")
        pilot.app.exit()

    MagituiApp().run(headless=True, size=(80, 24), auto_pilot=first_frame)
    """
)


MINIMAL_APP = textwrap.dedent(
    """
    from textual.app import App
    from textual.widgets import DataTable, Footer, Header

    class Minimal(App):
        BINDINGS = [("q", "quit", "Quit")]

        def compose(self):
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self):
            table = self.query_one(DataTable)
            table.add_columns("Minimal", "ready")
            table.add_row("minimal", "app")

    Minimal().run()
    """
)
MINIMAL_MARKER = "Minimal"

IMPORT_PROBE = (
    "import time\nt = time.perf_counter()\nimport {module}\nprint(time.perf_counter() - t)"
)


def time_in_tmux(
    runs: int, env: dict[str, str], command: list[str] | None = None, marker: str = HOME_MARKER
) -> list[float]:
    """Wall time from starting the command in a real terminal to its first frame on screen."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with TmuxSession(command or magitui_command(), 80, 24, env=env) as terminal:
            terminal.wait_for(marker, timeout=30)
            times.append(time.perf_counter() - started)
            terminal.send("q")
            time.sleep(0.3)
    return times


def time_headless(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", HEADLESS_PROBE], capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


def time_command(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*magitui_command(), *args], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def time_import(module: str, runs: int) -> list[float]:
    """Seconds to import ``module`` in a fresh interpreter (its own imports included)."""
    code = IMPORT_PROBE.format(module=module)
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]


def ratio(label: str, ours: list[float], floor: list[float], target: float) -> None:
    """The median of the runs' pairwise ratios: each pair ran back to back, under the same
    load, so a busy moment on a shared box moves both sides of one ratio."""
    value = statistics.median(a / b for a, b in zip(ours, floor, strict=True))
    verdict = "met" if value <= target else "MISSED"
    print(f"{label:<44} {value:5.2f}× the floor  target ≤ {target:.1f}×: {verdict}")


def report(label: str, times: list[float], target: float | None = None) -> None:
    median = statistics.median(times)
    verdict = ""
    if target is not None:
        verdict = f"  target ≤ {target:.1f} s: {'met' if median <= target else 'MISSED'}"
    print(
        f"{label:<44} median {median:6.3f} s  min {min(times):6.3f} s  "
        f"max {max(times):6.3f} s  (n={len(times)}){verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = isolated_env()
    cache_bytecode()
    subprocess.run([*magitui_command(), "jobs"], capture_output=True, check=True)  # warm caches
    minimal_script = Path(tempfile.mkdtemp(prefix="magitui-bench-")) / "minimal_app.py"
    minimal_script.write_text(MINIMAL_APP)
    ours, floor = [], []
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        ours += time_in_tmux(1, env)
        floor += time_in_tmux(1, env, [sys.executable, str(minimal_script)], MINIMAL_MARKER)
    report("TUI first frame in tmux 80x24 (wall)", ours)
    report("  floor: minimal Textual app, same terminal", floor)
    ratio("  first frame", ours, floor, target=1.5)
    report("TUI first frame, headless (process age)", time_headless(args.runs))
    ours, floor = [], []
    for _ in range(args.runs):
        ours += time_import("magitui.app", 1)
        floor += time_import("textual.app", 1)
    report("import magitui.app", ours)
    report("  floor: import textual.app", floor)
    ratio("  import", ours, floor, target=1.5)
    report("magitui --version", time_command(["--version"], args.runs))
    report("magitui jobs (empty workspace)", time_command(["jobs"], args.runs))


if __name__ == "__main__":
    main()
