"""Hub cache scan: magitui's os.scandir walk vs huggingface_hub's scan_cache_dir,
and how responsive the Monitor stays while it scans a large cache.

Builds 200 repos × 20 files (two revisions each, sharing most blobs) in a temp
folder, then times both scans in the same run, alternating, best of N. Target:
ratio ≤ 1.0 with identical totals. Then grows the cache to --ui-repos repos and
opens the Monitor's cache tab headless, measuring the event loop's stalls while
the scan runs in its worker, while the table takes the rows, and for a second
after while the user pages down (target: no stall over ~50 ms, whatever the work
left behind, a deferred garbage collection say); opening the tab itself is shown
apart.
Prints figures; asserts nothing.
    python benchmarks/cache_scan.py [--repos 200] [--files 20] [--rounds 7] [--ui-repos 1000]
        [--ui-size 80x24]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(hub: Path, repos: int, files: int, start: int = 0) -> None:
    rng = random.Random(start)
    for index in range(start, repos):
        kind = "models" if index % 4 else "datasets"
        repo = hub / f"{kind}--org{index % 17}--repo{index}"
        (repo / "refs").mkdir(parents=True)
        blobs = repo / "blobs"
        blobs.mkdir()
        contents = [os.urandom(rng.randint(64, 4096)) for _ in range(files)]
        for rev in range(2):
            commit = hashlib.sha1(f"{index}:{rev}".encode()).hexdigest()
            snapshot = repo / "snapshots" / commit
            (snapshot / "sub").mkdir(parents=True)
            if rev == 1:
                contents[-1] = os.urandom(1000)  # the newer revision changes one file
                (repo / "refs" / "main").write_text(commit)
            for number, content in enumerate(contents):
                etag = hashlib.sha256(content).hexdigest()
                if not (blobs / etag).exists():
                    (blobs / etag).write_bytes(content)
                name = f"sub/file{number}.bin" if number % 5 == 0 else f"file{number}.bin"
                (snapshot / name).symlink_to(
                    os.path.relpath(blobs / etag, (snapshot / name).parent)
                )


AFTER_FILL = 1.0  # seconds watched after the table is full
AFTER_KEYS = 20  # page-downs pressed in that time


def _gaps(ticks: list[float]) -> str:
    if not ticks:
        return "no ticks"
    ordered = sorted(ticks)
    worst, p95 = ordered[-1] * 1000, ordered[int(len(ordered) * 0.95)] * 1000
    return f"worst {worst:.1f} ms, p95 {p95:.1f} ms over {len(ordered)} ticks"


async def ui_stall(base: Path, repos: int, size: tuple[int, int]) -> None:
    """Event-loop stalls while the Monitor scans ``repos`` repos in its worker and then
    shows its rows. A ticker sleeps 5 ms over and over; each tick's overshoot is how
    long the loop could not run anything, a frame included."""
    for name, sub in (
        ("MAGITUI_CONFIG", "config/config.toml"),
        ("MAGITUI_CREDENTIALS", "config/credentials.toml"),
        ("MAGITUI_HOME", "workspace"),
        ("TORCH_EXTENSIONS_DIR", "torch_extensions"),
        ("PIP_CACHE_DIR", "pip"),
    ):
        os.environ[name] = str(base / sub)
    from magitui.app import MagituiApp
    from magitui.screens.monitor.cache_table import CacheTable
    from magitui.screens.monitor.screen import MonitorScreen

    app = MagituiApp()
    async with app.run_test(size=size) as pilot:
        await pilot.press("m")
        await pilot.pause(1.0)
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        table = screen.query_one(CacheTable)
        phase = "tab"  # opening the tab, then scanning, then showing the rows
        ticks: dict[str, list[float]] = {"tab": [], "scan": [], "rows": [], "after": [], "done": []}

        async def ticker() -> None:
            while phase != "done":
                started, during = time.perf_counter(), phase
                await asyncio.sleep(0.005)
                ticks[during].append(time.perf_counter() - started - 0.005)

        def drawn() -> None:
            nonlocal phase
            phase = "scan"

        task = asyncio.create_task(ticker())
        started = time.perf_counter()
        # Not pilot.press: it waits for the screen to go idle, i.e. for the whole scan.
        app.simulate_key("2")
        while not screen.busy:
            await asyncio.sleep(0.001)
        screen.call_after_refresh(drawn)  # the tab is on screen: the scan has begun
        while screen.scan is None:
            await asyncio.sleep(0.001)
        shown = time.perf_counter() - started
        phase = "rows"
        while table.row_count == 0:
            await asyncio.sleep(0.001)
        full = time.perf_counter() - started
        # After: the user pages through the whole table, and whatever the rows left to do
        # (a deferred garbage collection, say) counts too.
        phase = "after"
        for _ in range(AFTER_KEYS):
            app.simulate_key("pagedown")
            await asyncio.sleep(AFTER_FILL / AFTER_KEYS)
        phase = "done"
        await task
        rows = table.row_count
        paged_to = table.cursor_row
    during = ticks["scan"] + ticks["rows"] + ticks["after"]
    worst = max(during, default=0.0) * 1000
    verdict = "met" if worst <= 50 else "MISSED"
    print(
        f"Monitor cache tab at {size[0]}x{size[1]}, {repos} repos ({rows} rows): scan shown "
        f"after {shown:.2f} s, table full after {full:.2f} s"
    )
    print(f"  event-loop stall opening the tab:  {_gaps(ticks['tab'])}")
    print(f"  while scanning (worker thread):   {_gaps(ticks['scan'])}")
    rows_gaps = _gaps(ticks["rows"]) if ticks["rows"] else "none: the table was full at once"
    print(f"  while showing the rows:           {rows_gaps}")
    print(
        f"  {AFTER_FILL:.0f} s after, paging down {AFTER_KEYS}× (to row {paged_to}): "
        f"{_gaps(ticks['after'])}"
    )
    print(f"  scan + rows + after: {_gaps(during)}  target ≤ 50 ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ui-repos", type=int, default=1000)
    parser.add_argument(
        "--ui-size", default="80x24", help="terminal size for the UI part, e.g. 120x40"
    )
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="magitui-bench-cache-"))
    os.environ["HF_HOME"] = str(base / "hf")  # before huggingface_hub is imported
    from huggingface_hub import scan_cache_dir

    from magitui_core.cache.hub_scan import scan_hub_cache

    hub = base / "hf" / "hub"
    try:
        started = time.perf_counter()
        build(hub, args.repos, args.files)
        print(
            f"built {args.repos} repos × {args.files} files × 2 revisions "
            f"in {time.perf_counter() - started:.1f} s"
        )
        ours_times, theirs_times = [], []
        ours = theirs = None
        for round_number in range(args.rounds):
            order = ("ours", "theirs") if round_number % 2 == 0 else ("theirs", "ours")
            for which in order:
                started = time.perf_counter()
                if which == "ours":
                    ours = scan_hub_cache(hub)
                    ours_times.append(time.perf_counter() - started)
                else:
                    theirs = scan_cache_dir(hub)
                    theirs_times.append(time.perf_counter() - started)
        assert ours is not None and theirs is not None
        same_total = ours.size_on_disk == theirs.size_on_disk
        same_repos = {r.key: (r.size, r.nb_files, len(r.revisions)) for r in ours.repos} == {
            f"{r.repo_type}/{r.repo_id}": (r.size_on_disk, r.nb_files, len(r.revisions))
            for r in theirs.repos
        }
        best_ours, best_theirs = min(ours_times), min(theirs_times)
        ratio = best_ours / best_theirs
        print(
            f"huggingface_hub scan_cache_dir: best {best_theirs * 1000:7.1f} ms "
            f"(median {sorted(theirs_times)[len(theirs_times) // 2] * 1000:.1f} ms)"
        )
        print(
            f"magitui scan_hub_cache:         best {best_ours * 1000:7.1f} ms "
            f"(median {sorted(ours_times)[len(ours_times) // 2] * 1000:.1f} ms)"
        )
        print(
            f"totals: ours {ours.size_on_disk} B, theirs {theirs.size_on_disk} B, "
            f"identical: {same_total}; per-repo sizes/files/revisions identical: {same_repos}"
        )
        verdict = "met" if ratio <= 1.0 and same_total and same_repos else "MISSED"
        print(f"ratio ours/theirs {ratio:.2f}  target ≤ 1.0 with identical totals: {verdict}")
        if args.ui_repos > args.repos:
            build(hub, args.ui_repos, args.files, start=args.repos)
        width, height = (int(n) for n in args.ui_size.split("x"))
        asyncio.run(ui_stall(base, max(args.ui_repos, args.repos), (width, height)))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
