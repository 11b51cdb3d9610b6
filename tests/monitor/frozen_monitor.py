"""Fixed Monitor figures for screenshots, and a pytest plugin that uses them.

System load and disk space change every second, so a screenshot of the real
Monitor could never match its baseline. Screenshot tests give the screen these
fixed sources instead (the cache is still scanned for real, from HF_HOME).

As a plugin (``pytest_plugins = ["tests.monitor.frozen_monitor"]`` in the root
conftest), every test that uses the ``snapshot_workspace`` fixture, such as
tests/ui/test_snapshots.py, sees the frozen figures when it opens Monitor.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from magitui.screens.monitor.screen import MonitorSources
from magitui_core.cache.catalog import CacheLocations
from magitui_core.machine.disks import DiskInfo, DiskReport, disk_warnings
from magitui_core.machine.gpu import NO_GPU_MESSAGE, GpuInfo, GpuProcess, GpuSnapshot
from magitui_core.machine.system_stats import SystemSnapshot

T0 = 1741078800.0  # 2025-03-04 09:00:00 UTC, as in tests/ui/snapshot_data.py
GIB = 1024**3

NO_GPU = GpuSnapshot(
    available=False, message=f"{NO_GPU_MESSAGE} (no NVIDIA driver loaded)", taken_at=T0
)

TWO_GPUS = GpuSnapshot(
    available=True,
    message="",
    driver_version="580.65.06",
    taken_at=T0,
    gpus=(
        GpuInfo(
            index=0,
            name="NVIDIA H100 80GB HBM3",
            uuid="GPU-0",
            utilization=97,
            memory_utilization=41,
            memory_used=71 * GIB,
            memory_total=80 * GIB,
            temperature=67,
            power_watts=612.4,
            power_limit_watts=700.0,
            clock_sm_mhz=1980,
            clock_mem_mhz=2619,
            processes=(
                GpuProcess(
                    41001,
                    70 * GIB,
                    "ml",
                    "python -m magitui_core.training.sft",
                    "train-llama-3c4d5e",
                ),
            ),
        ),
        GpuInfo(
            index=1,
            name="NVIDIA H100 80GB HBM3",
            uuid="GPU-1",
            utilization=None,
            memory_utilization=None,
            memory_used=1 * GIB,
            memory_total=80 * GIB,
            temperature=None,
            power_watts=None,
            power_limit_watts=None,
            clock_sm_mhz=None,
            clock_mem_mhz=None,
        ),
    ),
)

SYSTEM = SystemSnapshot(
    cpu_per_core=(12.0, 87.0),
    ram_total=24 * GIB,
    ram_used=9 * GIB,
    ram_available=15 * GIB,
    swap_total=0,
    swap_used=0,
    load_average=(1.25, 0.8, 0.5),
    taken_at=T0,
)

_DISKS = [
    DiskInfo(
        "/dev/vda",
        "/",
        "ext4",
        270 * GIB,
        258 * GIB,
        12 * GIB,
        ("HF_HOME", "hub cache", "workspace"),
    ),
    DiskInfo("/dev/vdb", "/data", "xfs", 2000 * GIB, 400 * GIB, 1600 * GIB),
]
DISKS = DiskReport(disks=tuple(_DISKS), warnings=tuple(disk_warnings(_DISKS)))


def fixed_sources(
    gpu: GpuSnapshot = NO_GPU,
    jobs: Callable[[], list[Any]] = list,
    runs_dir: Path | None = None,
    gpu_reader: Callable[[], GpuSnapshot] | None = None,
) -> MonitorSources:
    """Frozen machine figures; the cache locations still come from the environment."""
    return MonitorSources(
        gpu=gpu_reader or (lambda: gpu),
        system=lambda: SYSTEM,
        disks=lambda: DISKS,
        locations=lambda: CacheLocations.from_env(runs_dir=runs_dir),
        jobs=jobs,
    )


@pytest.fixture(autouse=True)
def frozen_monitor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Screenshot tests (those using ``snapshot_workspace``) get frozen Monitor figures."""
    if "snapshot_workspace" not in request.fixturenames:
        return
    import magitui.screens.monitor.screen as monitor

    monkeypatch.setattr(
        monitor,
        "default_sources",
        lambda ctx: fixed_sources(jobs=ctx.jobs.list_jobs, runs_dir=ctx.workspace.runs_dir),
    )
