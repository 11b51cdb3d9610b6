"""NVML faked at the pynvml boundary: what a GPU box would answer."""

from __future__ import annotations

from types import SimpleNamespace

import pynvml
import pytest


def _not_supported(*_args: object) -> object:
    raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)


class FakeNvml:
    """Three GPUs: an H100 with two processes, an A100 with every optional field
    unsupported, and one whose process list cannot be read."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.init_calls = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def init() -> None:
            self.init_calls += 1

        calls = {
            "nvmlInit": init,
            "nvmlShutdown": lambda: None,
            "nvmlDeviceGetCount": lambda: 3,
            "nvmlSystemGetDriverVersion": lambda: b"580.65",
            "nvmlDeviceGetHandleByIndex": lambda i: i,
            "nvmlDeviceGetName": lambda h: ["NVIDIA H100 80GB HBM3", b"NVIDIA A100", "L4"][h],
            "nvmlDeviceGetUUID": lambda h: f"GPU-{h}",
            "nvmlDeviceGetCudaComputeCapability": lambda h: [(9, 0), (8, 0), (7, 5)][h],
            "nvmlDeviceGetUtilizationRates": self._util,
            "nvmlDeviceGetMemoryInfo": lambda h: SimpleNamespace(
                used=(h + 1) * 2**30, total=80 * 2**30, free=0
            ),
            "nvmlDeviceGetTemperature": self._only_first(lambda h, kind: 61),
            "nvmlDeviceGetPowerUsage": self._only_first(lambda h: 312_500),
            "nvmlDeviceGetEnforcedPowerLimit": self._only_first(lambda h: 700_000),
            "nvmlDeviceGetClockInfo": self._only_first(
                lambda h, kind: 1980 if kind == pynvml.NVML_CLOCK_SM else 2619
            ),
            "nvmlDeviceGetComputeRunningProcesses": self._compute,
            "nvmlDeviceGetGraphicsRunningProcesses": lambda h: [],
        }
        for name, value in calls.items():
            monkeypatch.setattr(pynvml, name, value)

    @staticmethod
    def _only_first(call):  # type: ignore[no-untyped-def]
        def wrapped(h, *args):  # type: ignore[no-untyped-def]
            return call(h, *args) if h == 0 else _not_supported()

        return wrapped

    @staticmethod
    def _util(h: int) -> SimpleNamespace:
        if h == 1:
            _not_supported()
        return SimpleNamespace(gpu=97 - h, memory=40)

    def _compute(self, h: int) -> list[SimpleNamespace]:
        if h == 0:
            return [
                SimpleNamespace(pid=self.pids[0], usedGpuMemory=30 * 2**30),
                SimpleNamespace(pid=self.pids[1], usedGpuMemory=None),
            ]
        if h == 2:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NO_PERMISSION)
        return []
