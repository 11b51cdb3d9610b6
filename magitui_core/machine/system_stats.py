"""CPU per core, memory, swap and load average, from psutil."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil


@dataclass(frozen=True)
class SystemSnapshot:
    cpu_per_core: tuple[float, ...]  # percent since the previous read
    ram_total: int
    ram_used: int
    ram_available: int
    swap_total: int
    swap_used: int
    load_average: tuple[float, float, float]
    taken_at: float = field(default_factory=time.time)

    @property
    def cpu_average(self) -> float:
        return sum(self.cpu_per_core) / len(self.cpu_per_core) if self.cpu_per_core else 0.0

    @property
    def ram_percent(self) -> float:
        return 100.0 * self.ram_used / self.ram_total if self.ram_total else 0.0

    @property
    def swap_percent(self) -> float:
        return 100.0 * self.swap_used / self.swap_total if self.swap_total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SystemSource:
    """Reads the machine's load. CPU percentages are measured between calls, so the
    first read primes the counters instead of blocking for an interval."""

    def __init__(self) -> None:
        psutil.cpu_percent(percpu=True)  # primes the per-core counters

    def read(self) -> SystemSnapshot:
        cores = tuple(float(p) for p in psutil.cpu_percent(percpu=True))
        ram = psutil.virtual_memory()
        swap = psutil.swap_memory()
        try:
            load = os.getloadavg()
        except OSError:  # not on every platform
            load = (0.0, 0.0, 0.0)
        return SystemSnapshot(
            cpu_per_core=cores,
            ram_total=int(ram.total),
            ram_used=int(ram.total - ram.available),
            ram_available=int(ram.available),
            swap_total=int(swap.total),
            swap_used=int(swap.used),
            load_average=(float(load[0]), float(load[1]), float(load[2])),
        )
