"""A fixed machine for Setup screenshots, and a pytest plugin that uses it.

GPU names, memory, free disk and the transformer-engine probe differ between machines, so
screenshot tests (those using ``snapshot_workspace``) get these figures instead. As a plugin
(``pytest_plugins`` in tests/conftest.py) it applies wherever the fixture is used.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from magitui.screens.setup.screen import SetupSources
from magitui_core.cache.catalog import CacheLocations
from magitui_core.machine.gpu import GpuSnapshot
from magitui_core.training.preflight import Machine
from tests.monitor.frozen_monitor import DISKS, GIB, TWO_GPUS

# The Monitor's two H100s, with the compute capability NVML reports for them.
H100S = GpuSnapshot(
    available=True,
    message="",
    driver_version=TWO_GPUS.driver_version,
    taken_at=TWO_GPUS.taken_at,
    gpus=tuple(replace(gpu, compute_capability=(9, 0)) for gpu in TWO_GPUS.gpus),
)
MACHINE = Machine(
    gpu_count=2, gpu_memory=80 * GIB, bf16=True, cpu_memory=24 * GIB, free_disk=12 * GIB
)


def fixed_sources(
    gpu: GpuSnapshot = H100S, machine: Machine = MACHINE, home: Path = Path("/home/ml")
) -> SetupSources:
    """Frozen machine facts; HF_HOME still comes from the environment."""
    return SetupSources(
        gpu=lambda: gpu,
        machine=lambda _out: machine,
        disks=lambda: DISKS,
        locations=CacheLocations.from_env,
        writable=lambda _path: True,
        transformer_engine=list,
        gated=lambda _model: [],  # a screenshot never asks the Hub
        home=home,
    )


@pytest.fixture(autouse=True)
def frozen_setup(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Screenshot tests (those using ``snapshot_workspace``) get the frozen Setup machine."""
    if "snapshot_workspace" not in request.fixturenames:
        return
    import magitui.screens.setup.screen as setup

    monkeypatch.setattr(setup, "default_sources", lambda ctx: fixed_sources())
