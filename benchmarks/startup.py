"""Start-up figures: the TUI's cold start to first frame, and headless command latency.

Target on a 2-core box: first frame ≤ 1.0 s. Prints figures; asserts nothing.
    python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap
import time

from _common import HOME_MARKER, TmuxSession, isolated_env, magitui_command

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


def time_in_tmux(runs: int, env: dict[str, str]) -> list[float]:
    """Wall time from starting the command in a real terminal to Home being on screen."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with TmuxSession(magitui_command(), 80, 24, env=env) as terminal:
            terminal.wait_for(HOME_MARKER, timeout=30)
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
    subprocess.run([*magitui_command(), "jobs"], capture_output=True, check=True)  # warm caches
    report("TUI first frame in tmux 80x24 (wall)", time_in_tmux(args.runs, env), target=1.0)
    report("TUI first frame, headless (process age)", time_headless(args.runs), target=1.0)
    report("magitui --version", time_command(["--version"], args.runs))
    report("magitui jobs (empty workspace)", time_command(["jobs"], args.runs))


if __name__ == "__main__":
    main()
