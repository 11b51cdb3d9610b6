"""NVIDIA GPUs through NVML (nvidia-ml-py), never by parsing nvidia-smi.

No driver, no library or no GPU is a normal state on a CPU box: ``read()``
then returns a snapshot with ``available=False`` and a calm message. Fields a
GPU does not support (NVML's NotSupported) come back as None, never as errors.
Calls can stall on a sick driver, so callers run ``read()`` in a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, TypeVar

import psutil

NO_GPU_MESSAGE = "No NVIDIA GPU found"
# After a failed nvmlInit, try again this rarely (a driver may get loaded later).
INIT_RETRY_SECONDS = 30.0

T = TypeVar("T")


@dataclass(frozen=True)
class GpuProcess:
    pid: int
    gpu_memory: int | None  # bytes; None when NVML cannot tell (e.g. in a container)
    user: str | None
    command: str
    job_id: str | None = None  # the magitui job whose process group holds it


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    uuid: str | None
    utilization: int | None  # percent
    memory_utilization: int | None  # percent of time the memory bus was busy
    memory_used: int | None  # bytes
    memory_total: int | None
    temperature: int | None  # °C
    power_watts: float | None
    power_limit_watts: float | None
    clock_sm_mhz: int | None
    clock_mem_mhz: int | None
    processes: tuple[GpuProcess, ...] = ()
    compute_capability: tuple[int, int] | None = None  # (8, 0) and up have bfloat16

    @property
    def bf16(self) -> bool:
        return self.compute_capability is not None and self.compute_capability >= (8, 0)


@dataclass(frozen=True)
class GpuSnapshot:
    available: bool
    message: str  # "" when available, else why there is nothing to show
    gpus: tuple[GpuInfo, ...] = ()
    driver_version: str | None = None
    taken_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _describe_process(pid: int) -> tuple[str | None, str, int | None]:
    """(user, command line, process group) of a pid; best effort, never raises."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            user = proc.username()
            cmdline = proc.cmdline()
            command = " ".join(cmdline) if cmdline else proc.name()
    except psutil.Error:
        return None, "?", None
    try:
        pgid = os.getpgid(pid)
    except OSError:
        pgid = None
    return user, command, pgid


class NvmlSource:
    """Reads GPU state through pynvml. Safe to call ``read()`` from one thread at a time.

    ``job_groups`` returns {process group id: job id} for the live magitui jobs, so
    each GPU process can be tied to the job that owns it.
    """

    def __init__(self, job_groups: Callable[[], dict[int, str]] | None = None) -> None:
        self._job_groups = job_groups or dict
        self._initialized = False
        self._failed_at: float | None = None
        self._failure = ""
        self._lock = threading.Lock()

    def _init(self) -> str | None:
        """Start NVML once; returns why it cannot be used, or None when it can."""
        if self._initialized:
            return None
        if self._failed_at is not None and time.monotonic() - self._failed_at < INIT_RETRY_SECONDS:
            return self._failure
        import pynvml

        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            self._failed_at = time.monotonic()
            self._failure = _init_failure(exc)
            return self._failure
        self._initialized = True
        return None

    def close(self) -> None:
        with self._lock:
            if self._initialized:
                import pynvml

                with contextlib.suppress(pynvml.NVMLError):
                    pynvml.nvmlShutdown()
                self._initialized = False

    def read(self) -> GpuSnapshot:
        with self._lock:
            problem = self._init()
            if problem is not None:
                return GpuSnapshot(available=False, message=problem)
            import pynvml

            try:
                count = pynvml.nvmlDeviceGetCount()
                driver = _optional(lambda: _text(pynvml.nvmlSystemGetDriverVersion()))
            except pynvml.NVMLError as exc:
                return GpuSnapshot(available=False, message=f"NVML error: {exc}")
            if count == 0:
                return GpuSnapshot(available=False, message=NO_GPU_MESSAGE, driver_version=driver)
            groups = self._job_groups()
            gpus = tuple(_read_gpu(index, groups) for index in range(count))
            return GpuSnapshot(available=True, message="", gpus=gpus, driver_version=driver)


def _init_failure(exc: Exception) -> str:
    import pynvml

    if isinstance(exc, (pynvml.NVMLError_LibraryNotFound, pynvml.NVMLError_DriverNotLoaded)):
        return f"{NO_GPU_MESSAGE} (no NVIDIA driver loaded)"
    if isinstance(exc, pynvml.NVMLError_NoPermission):
        return f"{NO_GPU_MESSAGE} (no permission to query the driver)"
    return f"{NO_GPU_MESSAGE} (NVML: {exc})"


def _optional(call: Callable[[], T]) -> T | None:
    """NVML fields a GPU does not support (or cannot report now) become None."""
    import pynvml

    try:
        return call()
    except pynvml.NVMLError:
        return None


def _read_gpu(index: int, job_groups: dict[int, str]) -> GpuInfo:
    import pynvml

    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    util = _optional(lambda: pynvml.nvmlDeviceGetUtilizationRates(handle))
    memory = _optional(lambda: pynvml.nvmlDeviceGetMemoryInfo(handle))
    power_mw = _optional(lambda: pynvml.nvmlDeviceGetPowerUsage(handle))
    limit_mw = _optional(lambda: pynvml.nvmlDeviceGetEnforcedPowerLimit(handle))
    return GpuInfo(
        index=index,
        name=_optional(lambda: _text(pynvml.nvmlDeviceGetName(handle))) or f"GPU {index}",
        uuid=_optional(lambda: _text(pynvml.nvmlDeviceGetUUID(handle))),
        utilization=None if util is None else int(util.gpu),
        memory_utilization=None if util is None else int(util.memory),
        memory_used=None if memory is None else int(memory.used),
        memory_total=None if memory is None else int(memory.total),
        temperature=_optional(
            lambda: int(pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU))
        ),
        power_watts=None if power_mw is None else power_mw / 1000.0,
        power_limit_watts=None if limit_mw is None else limit_mw / 1000.0,
        clock_sm_mhz=_optional(
            lambda: int(pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_SM))
        ),
        clock_mem_mhz=_optional(
            lambda: int(pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_MEM))
        ),
        processes=tuple(_read_processes(handle, job_groups)),
        compute_capability=_optional(
            lambda: tuple(pynvml.nvmlDeviceGetCudaComputeCapability(handle))  # type: ignore[arg-type]
        ),
    )


def _read_processes(handle: Any, job_groups: dict[int, str]) -> Iterable[GpuProcess]:
    import pynvml

    seen: dict[int, int | None] = {}
    for getter in (
        pynvml.nvmlDeviceGetComputeRunningProcesses,
        pynvml.nvmlDeviceGetGraphicsRunningProcesses,
    ):
        for proc in _optional(partial(getter, handle)) or []:
            used = getattr(proc, "usedGpuMemory", None)
            # NVML reports "not available" as a huge sentinel value or None.
            if used is None or used >= 2**63:
                used = None
            if proc.pid not in seen or seen[proc.pid] is None:
                seen[proc.pid] = None if used is None else int(used)
    for pid, used in sorted(seen.items()):
        user, command, pgid = _describe_process(pid)
        yield GpuProcess(
            pid=pid,
            gpu_memory=used,
            user=user,
            command=command,
            job_id=job_groups.get(pgid) if pgid is not None else None,
        )


def job_process_groups(jobs: Iterable[Any]) -> dict[int, str]:
    """{process group: job id} for live jobs (a job runs in its own process group)."""
    groups: dict[int, str] = {}
    for job in jobs:
        if job.is_live and job.status.pgid:
            groups[int(job.status.pgid)] = job.id
    return groups
