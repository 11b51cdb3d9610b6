"""Monitor: GPUs, system load and disks, and the Hugging Face cache with safe cleanup.

Machine figures are polled the dolphie way (PollingScreen): one thread worker
per poll, the next armed only after the last is shown, paused while a dialog
is open, so a stalled NVML call stalls only its worker, never the UI.
The cache is scanned in its own worker with progress; deleting goes plan →
confirmation (No by default) → delete → rescan, each off the UI thread.

Every data source is injectable (``MonitorSources``), so tests can show fixed
figures or a fake GPU without touching the real machine.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from magitui.screens.base import FINISHED, PollingScreen
from magitui.screens.monitor.cache_confirm import CacheDeleteConfirm
from magitui.screens.monitor.cache_table import SORTS, CacheRows, CacheTable
from magitui.screens.monitor.machine_panels import DiskPanel, GpuPanel, SystemPanel, role_summary
from magitui.widgets.live_static import LiveStatic
from magitui_core.cache.catalog import (
    CacheLocations,
    CacheScan,
    Selection,
    format_size,
    prune_selection,
    toggle_extra,
    toggle_repo,
    toggle_revision,
)
from magitui_core.cache.delete import DeletionPlan, DeletionResult, estimate_freed
from magitui_core.machine.disks import DiskReport
from magitui_core.machine.gpu import GpuSnapshot
from magitui_core.machine.system_stats import SystemSnapshot

if TYPE_CHECKING:
    from magitui_core.context import Context

CACHE_GROUP = "hf-cache"
PROGRESS_EVERY = 0.1  # seconds between progress updates from the scan thread


@dataclass
class MonitorSources:
    """Where the Monitor gets its figures. Each callable runs in a worker thread."""

    gpu: Callable[[], GpuSnapshot]
    system: Callable[[], SystemSnapshot]
    disks: Callable[[], DiskReport]
    locations: Callable[[], CacheLocations]
    jobs: Callable[[], list[Any]]  # JobInfo list: which jobs use what


def default_sources(ctx: Context) -> MonitorSources:
    """The real machine: NVML, psutil, the environment's HF_HOME (or config's)."""
    from magitui_core.machine.disks import default_roles, read_disks
    from magitui_core.machine.gpu import NvmlSource, job_process_groups
    from magitui_core.machine.system_stats import SystemSource

    env = dict(os.environ)
    configured = ctx.config.huggingface.hf_home
    if not env.get("HF_HOME") and configured:
        env["HF_HOME"] = str(configured.expanduser())  # what jobs get, so what fills up

    def locations() -> CacheLocations:
        return CacheLocations.from_env(runs_dir=ctx.workspace.runs_dir, env=env)

    def disks() -> DiskReport:
        return read_disks(default_roles(locations(), ctx.workspace.root))

    nvml = NvmlSource(job_groups=lambda: job_process_groups(ctx.jobs.list_jobs()))
    return MonitorSources(
        gpu=nvml.read,
        system=SystemSource().read,
        disks=disks,
        locations=locations,
        jobs=ctx.jobs.list_jobs,
    )


@dataclass(frozen=True)
class MachineSnapshot:
    gpu: GpuSnapshot | None  # None while NVML has not answered
    gpu_stalled_for: float | None  # seconds the pending NVML read has been waiting
    system: SystemSnapshot
    disks: DiskReport


class StallProofReader:
    """Runs a read that may hang (NVML on a sick driver) in its own daemon thread and
    waits only ``wait`` seconds for it, so the rest of the poll (load, disks) goes on.
    A read still pending is not started again: at most one thread is ever stuck."""

    def __init__(self, read: Callable[[], GpuSnapshot], wait: float = 0.5) -> None:
        self._read = read
        self._wait = wait
        self._lock = threading.Lock()
        self._done: threading.Event | None = None
        self._started = 0.0
        self._result: GpuSnapshot | None = None
        self._error: BaseException | None = None

    def _run(self, done: threading.Event) -> None:
        try:
            self._result = self._read()
        except Exception as exc:  # handed to the poll worker, which reports it
            self._error = exc
        done.set()

    def __call__(self) -> tuple[GpuSnapshot | None, float | None]:
        with self._lock:
            if self._done is None:
                self._done = threading.Event()
                self._started = time.monotonic()
                self._result, self._error = None, None
                threading.Thread(
                    target=self._run, args=(self._done,), name="nvml-read", daemon=True
                ).start()
            if not self._done.wait(self._wait):
                return None, time.monotonic() - self._started
            self._done = None
            if self._error is not None:
                raise self._error
            return self._result, None


class MonitorScreen(PollingScreen):
    CSS_PATH = "screen.tcss"
    TITLE_TEXT = "Monitor"
    POLL_WHAT = "GPU, system and disk figures"
    BINDINGS = [
        # The tab labels carry the keys; the footer keeps its room for the table's keys.
        Binding("1", "show_tab('machine')", "Machine", show=False),
        Binding("2", "show_tab('cache')", "HF cache", show=False),
    ]

    def __init__(self, sources: MonitorSources | None = None) -> None:
        super().__init__(id="monitor")
        self._sources = sources
        self._scan: CacheScan | None = None
        self._selection = Selection()
        self._sort = SORTS[0]
        self._disks: DiskReport | None = None
        self._busy: str | None = None  # what the cache worker is doing, if anything
        self._progress_at = 0.0
        self._gpu_reader: StallProofReader | None = None
        self._rows: CacheRows | None = None  # the table cells of the scan shown

    @property
    def sources(self) -> MonitorSources:
        if self._sources is None:
            self._sources = default_sources(self.ctx)
        return self._sources

    @property
    def scan(self) -> CacheScan | None:
        return self._scan

    @property
    def busy(self) -> bool:
        """Whether the cache worker is scanning, planning or deleting."""
        return self._busy is not None

    @property
    def selection(self) -> Selection:
        return self._selection

    # ---- layout ----------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        with TabbedContent(initial="machine", id="monitor-tabs"):
            with TabPane("1 Machine", id="machine"), VerticalScroll(id="machine-panels"):
                yield GpuPanel(id="gpu-panel")
                yield SystemPanel(id="system-panel")
                yield DiskPanel(id="disk-panel")
            with TabPane("2 HF cache", id="cache"), Vertical(id="cache-pane", classes="panel"):
                yield LiveStatic(id="cache-status")
                yield ProgressBar(id="cache-progress", show_eta=False)
                yield CacheTable(id="cache-table")

    def on_mount(self) -> None:
        _ = self.sources  # built on the UI thread, before the first poll
        # The screen lives as long as the app (one per section): as the app does with its
        # start-up objects, keep its widgets out of every later full garbage collection,
        # which otherwise walks them all while a big cache scan or table is in memory.
        self.call_after_refresh(gc.freeze)
        self.query_one("#gpu-panel").border_title = "GPUs"
        self.query_one("#system-panel").border_title = "System"
        self.query_one("#disk-panel").border_title = "Disks"
        self.query_one("#cache-pane").border_title = "Hugging Face cache"
        self._show_status()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "cache":
            self.query_one(CacheTable).focus()
            if self._scan is None and self._busy is None:
                self.action_rescan()

    # ---- machine polling -------------------------------------------------------------------
    def collect(self) -> MachineSnapshot:
        sources = self.sources
        if self._gpu_reader is None:
            self._gpu_reader = StallProofReader(sources.gpu)
        gpu, stalled_for = self._gpu_reader()
        return MachineSnapshot(gpu, stalled_for, system=sources.system(), disks=sources.disks())

    def apply(self, snapshot: MachineSnapshot) -> None:
        panel = self.query_one(GpuPanel)
        if snapshot.gpu is not None:
            panel.show(snapshot.gpu)
        elif snapshot.gpu_stalled_for is not None and snapshot.gpu_stalled_for >= 2.0:
            panel.show_stalled(snapshot.gpu_stalled_for)
        self.query_one(SystemPanel).show(snapshot.system)
        self.query_one(DiskPanel).show(snapshot.disks)
        self._disks = snapshot.disks
        self._show_status()

    # ---- cache: status and table -----------------------------------------------------------
    def _show_status(self) -> None:
        status = self.query_one("#cache-status", LiveStatic)
        progress = self.query_one("#cache-progress", ProgressBar)
        progress.display = self._busy is not None
        if self._busy is not None:
            status.show_content(Content.from_markup("[$primary]$what…[/]", what=self._busy))
            return
        if self._scan is None:
            status.show_content(Content.from_markup("[$text-muted]Not scanned yet — press r.[/]"))
            return
        scan = self._scan
        others = sum(entry.size for entry in scan.extras)
        where = role_summary(self._disks, "HF_HOME") if self._disks else None
        hub = (
            f"Hub [b]{format_size(scan.hub.size_on_disk)}[/b] · {len(scan.hub.repos)} repos"
            if scan.hub.exists
            else "No hub cache yet"
        )
        parts = [
            hub,
            f"other [b]{format_size(others)}[/b]",
        ]
        if where:
            parts.append(f"HF_HOME {where}")
        parts.append(f"[dim]by {self._sort}[/dim]")
        lines = [Content.from_markup(" · ".join(parts))]
        if self._selection:
            count = (
                len(self._selection.repos)
                + len(self._selection.revisions)
                + len(self._selection.extras)
            )
            freed = format_size(estimate_freed(scan, self._selection))
            lines.append(
                Content.from_markup(
                    "[b $error]$count selected · frees ≈ $freed[/] — [b]x[/b] to delete",
                    count=str(count),
                    freed=freed,
                )
            )
        elif scan.hub.repos or scan.extras:
            lines.append(
                Content.from_markup(
                    "[$text-muted]space selects a repo or one revision · o sorts · r rescans[/]"
                )
            )
        else:
            lines.append(
                Content.from_markup(
                    "[$text-muted]Nothing cached in $hub.[/]", hub=str(scan.locations.hub)
                )
            )
        if scan.hub.warnings:
            lines.append(
                Content.from_markup(
                    "[$warning]⚠ $count unreadable item(s) in the hub folder (corrupted rows)[/]",
                    count=str(len(scan.hub.warnings)),
                )
            )
        status.show_content(Content("\n").join(lines))

    def _redraw_table(self, force: bool = False) -> None:
        if self._scan is None:
            return
        if self._rows is None or self._rows.scan is not self._scan:
            self._rows = CacheRows(self._scan)
        rows = self._rows.rows(self._selection, self._sort)
        self.query_one(CacheTable).apply_rows(rows, force=force)

    def action_toggle_row(self) -> None:
        key = self.query_one(CacheTable).selected_key
        if self._scan is None or key is None:
            return
        kind, _, ident = key.partition(":")
        if kind == "repo":
            repo = self._scan.hub.repo(ident)
            if repo is not None:
                self._selection = toggle_repo(self._selection, repo)
        elif kind == "rev":
            found = self._scan.revision(ident)
            if found is not None:
                self._selection = toggle_revision(self._selection, *found)
        elif kind == "extra":
            self._selection = toggle_extra(self._selection, ident)
        self._redraw_table()
        self._show_status()

    def action_cycle_sort(self) -> None:
        self._sort = SORTS[(SORTS.index(self._sort) + 1) % len(SORTS)]
        self._redraw_table()
        self._show_status()

    # ---- cache: workers --------------------------------------------------------------------
    def _start(self, busy: str, work: Callable[[], Any], name: str) -> None:
        self._busy = busy
        progress = self.query_one("#cache-progress", ProgressBar)
        progress.update(total=None, progress=0)
        self._show_status()
        self.run_worker(
            work, name=name, group=CACHE_GROUP, thread=True, exclusive=True, exit_on_error=False
        )

    def action_rescan(self) -> None:
        if self._busy is not None:
            return
        sources = self.sources
        self._start(
            "Scanning the caches",
            lambda: _scan(sources.locations(), self._progress_from_thread, self._sort),
            "scan the HF cache",
        )

    def action_delete_selected(self) -> None:
        if self._busy is not None:
            self.notify(f"{self._busy} — wait for it to finish.", severity="warning")
            return
        if self._scan is None or not self._selection:
            self.notify("Nothing selected — press space on a repo or revision.", severity="warning")
            return
        scan, selection, jobs = self._scan, self._selection, self.sources.jobs
        self._start(
            "Checking what would go",
            lambda: _plan(scan, selection, jobs()),
            "plan the deletion",
        )

    def _confirmed(self, plan: DeletionPlan, confirmed: bool | None) -> None:
        if not confirmed:
            self.notify("Nothing deleted.")
            return
        self._start(
            "Deleting",
            partial(_execute, plan, self._progress_from_thread, self._sort),
            "delete from the HF cache",
        )

    def _progress_from_thread(self, what: str, done: int, total: int) -> None:
        """Called by the scan in its thread: throttled, then shown on the UI thread."""
        now = time.monotonic()
        if done < total and now - self._progress_at < PROGRESS_EVERY:
            return
        self._progress_at = now
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._show_progress, what, done, total)

    def _show_progress(self, what: str, done: int, total: int) -> None:
        self.query_one("#cache-progress", ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#cache-status", Static).update(
            Content.from_markup(
                "[$primary]$what: $done/$total…[/]", what=what, done=str(done), total=str(total)
            )
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != CACHE_GROUP or event.state not in FINISHED:
            return
        self._busy = None
        if event.state is WorkerState.SUCCESS:
            result = worker.result
            if isinstance(result, ScannedCache):
                self._show_scan(result)
            elif isinstance(result, DeletionPlan):
                self._ask(result)
            elif isinstance(result, DeletedFromCache):
                self._deleted(result)
        self._show_status()

    def _show_scan(self, scanned: ScannedCache) -> None:
        self._scan = scanned.scan
        self._rows = scanned.rows
        self._selection = prune_selection(self._selection, scanned.scan)
        self._redraw_table(force=True)

    def _ask(self, plan: DeletionPlan) -> None:
        if not plan.ok:
            reasons = "\n".join(f"{r.label}: {r.reason}" for r in plan.refused)
            self.notify(
                f"{reasons}\nStop the job first (Home, k), then try again.",
                title="Nothing deleted: in use",
                severity="error",
                timeout=12,
            )
            return
        self.app.push_screen(CacheDeleteConfirm(plan), partial(self._confirmed, plan))

    def _deleted(self, deleted: DeletedFromCache) -> None:
        result = deleted.result
        self._selection = Selection()
        self._show_scan(deleted.rescan)
        message = f"Freed {format_size(result.freed)} (expected {format_size(result.predicted)})."
        if result.failures:
            shown = "\n".join(result.failures[:3])
            self.notify(
                f"{message}\nNot freed:\n{shown}", title="Partly deleted", severity="warning"
            )
        else:
            self.notify(message, title="Deleted")
        self.poll_now()  # the disk panel shows the new free space at once


@dataclass(frozen=True)
class ScannedCache:
    """A scan with its table cells, both made in the worker thread: the UI thread
    only hands them to the table."""

    scan: CacheScan
    rows: CacheRows


@dataclass(frozen=True)
class DeletedFromCache:
    result: DeletionResult
    rescan: ScannedCache


def _ready_to_show(scan: CacheScan, sort: str) -> ScannedCache:
    """The table cells of a cache of thousands of revisions take 50-100 ms to build:
    done here, in the worker, the UI thread only hands them to the table."""
    rows = CacheRows(scan)
    rows.order(sort)  # the first sort, ready before the UI thread asks
    return ScannedCache(scan, rows)


def _scan(
    locations: CacheLocations,
    progress: Callable[[str, int, int], None],
    sort: str,
) -> ScannedCache:
    from magitui_core.cache.catalog import scan_cache

    return _ready_to_show(scan_cache(locations, progress), sort)


def _plan(scan: CacheScan, selection: Selection, jobs: list[Any]) -> DeletionPlan:
    from magitui_core.cache.delete import plan_deletion

    return plan_deletion(scan, selection, jobs)


def _execute(
    plan: DeletionPlan,
    progress: Callable[[str, int, int], None],
    sort: str,
) -> DeletedFromCache:
    from magitui_core.cache.delete import execute_plan

    result = execute_plan(plan, progress)
    return DeletedFromCache(result, _ready_to_show(result.scan, sort))
