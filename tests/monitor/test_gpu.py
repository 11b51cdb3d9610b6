"""GPU readings: the real no-driver path of this machine, and NVML mocked at the pynvml
boundary for several GPUs, their processes and fields a GPU does not support."""

from __future__ import annotations

import os
import sys
import time

import pynvml
import pytest
from fake_nvml import FakeNvml

from magitui_core.machine import gpu as gpu_module
from magitui_core.machine.gpu import NO_GPU_MESSAGE, NvmlSource, job_process_groups


def _driver_present() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


@pytest.mark.skipif(_driver_present(), reason="this machine has an NVIDIA driver")
def test_no_driver_is_a_calm_state() -> None:
    source = NvmlSource()
    snapshot = source.read()
    assert not snapshot.available
    assert snapshot.message.startswith(NO_GPU_MESSAGE)
    assert snapshot.gpus == ()
    assert source.read().message == snapshot.message  # no retry storm, same answer
    assert snapshot.to_dict()["available"] is False
    source.close()


def test_several_gpus_processes_and_unsupported_fields(
    monkeypatch: pytest.MonkeyPatch, jobs
) -> None:  # type: ignore[no-untyped-def]
    job = jobs.start(["sleep", "60"], name="train", kind="train")
    child = job.status.child_pid
    assert child is not None
    fake = FakeNvml([child, os.getpid()])
    fake.install(monkeypatch)
    source = NvmlSource(job_groups=lambda: job_process_groups(jobs.list_jobs()))
    snapshot = source.read()
    assert snapshot.available and snapshot.driver_version == "580.65"
    h100, a100, l4 = snapshot.gpus
    assert (h100.name, a100.name, l4.name) == ("NVIDIA H100 80GB HBM3", "NVIDIA A100", "L4")
    assert (h100.utilization, h100.temperature, h100.clock_sm_mhz) == (97, 61, 1980)
    assert (h100.power_watts, h100.power_limit_watts) == (312.5, 700.0)
    assert a100.utilization is None and a100.temperature is None and a100.power_watts is None
    assert a100.memory_used == 2 * 2**30 and a100.memory_total == 80 * 2**30
    assert l4.processes == ()
    by_pid = {proc.pid: proc for proc in h100.processes}
    first, second = by_pid[child], by_pid[os.getpid()]
    assert first.job_id == job.id and first.gpu_memory == 30 * 2**30
    assert "sleep 60" in first.command
    assert second.job_id is None and second.gpu_memory is None
    assert sys.executable.split("/")[-1][:6] in second.command
    source.read()
    assert fake.init_calls == 1  # NVML is started once, not per poll


def test_init_failure_is_retried_later(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = []

    def failing_init() -> None:
        attempts.append(time.monotonic())
        raise pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)

    monkeypatch.setattr(pynvml, "nvmlInit", failing_init)
    source = NvmlSource()
    assert "no NVIDIA driver" in source.read().message
    source.read()
    assert len(attempts) == 1
    monkeypatch.setattr(gpu_module, "INIT_RETRY_SECONDS", 0.0)
    source.read()
    assert len(attempts) == 2


def test_compute_capability_tells_bf16(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from magitui_core.training.preflight import machine_facts

    FakeNvml([os.getpid(), os.getpid()]).install(monkeypatch)
    h100, a100, t4_like = NvmlSource().read().gpus
    assert (h100.compute_capability, h100.bf16) == ((9, 0), True)
    assert a100.bf16 and not t4_like.bf16
    facts = machine_facts(tmp_path / "not-yet" / "out")
    assert facts.gpu_count == 3 and facts.gpu_memory == 80 * 2**30
    assert facts.bf16 is False  # one GPU without bfloat16 rules it out for the run
    assert facts.free_disk > 0 and facts.cpu_memory > 0
