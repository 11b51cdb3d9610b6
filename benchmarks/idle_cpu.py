"""Idle CPU of the running TUI on Home (with live jobs) and on Monitor.

Targets on a 2-core box: Home ≤ 1 %, Monitor ≤ 2 % of one core while idle. Prints figures;
asserts nothing.
    python benchmarks/idle_cpu.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import time

import psutil
from _common import HOME_MARKER, TmuxSession, app_process, isolated_env, magitui_command


def cpu_percent(proc: psutil.Process, seconds: float) -> float:
    """CPU time used by the app (all threads) over ``seconds`` of wall time, as % of one core."""
    before = proc.cpu_times()
    time.sleep(seconds)
    after = proc.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    env = isolated_env()

    from magitui_core.context import open_context

    ctx = open_context()
    for name in ("baseline", "llama-oss", "deepseek-6.7b"):
        ctx.workspace.create_run(name)
    live = [ctx.jobs.start(["sleep", "600"], name=f"worker-{i}", run="llama-oss") for i in range(2)]
    for i in range(3):
        ctx.jobs.start(["true"], name=f"done-{i}")
    try:
        with TmuxSession(magitui_command(), 80, 24, env=env) as terminal:
            terminal.wait_for(HOME_MARKER, timeout=30)
            proc = app_process(terminal)
            time.sleep(3)  # let start-up work settle
            home = cpu_percent(proc, args.seconds)
            terminal.send("m")
            time.sleep(3)
            monitor = cpu_percent(proc, args.seconds)
            terminal.send("q")
    finally:
        for job in live:
            ctx.jobs.stop(job.id, grace=2)
    for label, value, target in (
        ("Home (3 runs, 2 live + 3 finished jobs)", home, 1.0),
        ("Monitor", monitor, 2.0),
    ):
        verdict = "met" if value <= target else "MISSED"
        print(
            f"idle CPU, {label:<40} {value:5.2f} % of one core "
            f"over {args.seconds:.0f} s  target ≤ {target:g} %: {verdict}"
        )


if __name__ == "__main__":
    main()
