"""`magitui doctor`: every environment check in one list, each with what to do about it.

Anything that could hang or crash (importing torch against a broken CUDA, NVML) runs in a
subprocess or behind its own timeout, so the doctor always answers.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Status = Literal["ok", "info", "warning", "error"]
PACKAGES = (
    "torch",
    "transformers",
    "accelerate",
    "deepspeed",
    "datasets",
    "textual",
    "openai",
    "huggingface_hub",
    "vllm",
)
TORCH_PROBE = (
    "import json, torch; print(json.dumps({'version': torch.__version__, "
    "'cuda': torch.version.cuda, 'available': torch.cuda.is_available(), "
    "'devices': torch.cuda.device_count() if torch.cuda.is_available() else 0}))"
)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_python() -> Check:
    ok = sys.version_info >= (3, 10)
    return Check(
        "python",
        "ok" if ok else "error",
        f"{platform.python_version()} ({sys.executable})",
        "" if ok else "magitui needs Python 3.10 or newer",
    )


def check_packages() -> list[Check]:
    checks = []
    for package in PACKAGES:
        version = _version(package)
        if version:
            checks.append(Check(package, "ok", version))
        elif package == "vllm":
            checks.append(
                Check(
                    package,
                    "info",
                    "not installed (optional: fast local serving)",
                    "pip install vllm, on the GPU machine",
                )
            )
        elif package in ("torch", "transformers", "accelerate", "deepspeed", "datasets"):
            checks.append(
                Check(
                    package,
                    "warning",
                    "not installed: training is unavailable",
                    "pip install 'magitui[train]'",
                )
            )
        else:
            checks.append(Check(package, "error", "not installed", f"pip install {package}"))
    return checks


def check_torch(timeout: float = 120.0) -> Check:
    if _version("torch") is None:
        return Check("torch CUDA", "info", "torch not installed")
    try:
        probe = subprocess.run(
            [sys.executable, "-c", TORCH_PROBE], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return Check(
            "torch CUDA",
            "error",
            f"importing torch took over {timeout:.0f}s",
            "check the CUDA installation (nvidia-smi)",
        )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return Check(
            "torch CUDA",
            "error",
            f"import torch failed: {last}",
            "reinstall torch for this machine's CUDA",
        )
    info = json.loads(probe.stdout.strip().splitlines()[-1])
    if info["available"]:
        return Check(
            "torch CUDA", "ok", f"CUDA {info['cuda']}, {info['devices']} device(s) visible"
        )
    build = f"CUDA {info['cuda']} build" if info["cuda"] else "CPU-only build"
    return Check("torch CUDA", "info", f"{build}; no GPU usable from torch")


def check_gpus() -> Check:
    from magitui_core.machine.gpu import NvmlSource

    source = NvmlSource()
    try:
        snapshot = source.read()
    finally:
        source.close()
    if not snapshot.available:
        return Check("GPUs", "info", snapshot.message)
    names = ", ".join(f"{g.name} {(g.memory_total or 0) / 1024**3:.0f} GiB" for g in snapshot.gpus)
    return Check("GPUs", "ok", f"{len(snapshot.gpus)}: {names} (driver {snapshot.driver_version})")


def check_disks(workspace: Path) -> list[Check]:
    from magitui_core.cache.catalog import CacheLocations
    from magitui_core.machine.disks import default_roles, read_disks

    locations = CacheLocations.from_env(workspace / "runs")
    report = read_disks(default_roles(locations, workspace))
    checks = []
    for disk in report.disks:
        if not disk.roles:
            continue
        detail = (
            f"{disk.mountpoint} ({disk.fstype}): {disk.free / 1024**3:.0f} GiB free of "
            f"{disk.total / 1024**3:.0f} GiB — holds {', '.join(disk.roles)}"
        )
        status: Status = "warning" if disk.is_low or disk.is_network else "ok"
        checks.append(Check("disk", status, detail))
    checks += [Check("disk", "warning", warning) for warning in report.warnings]
    checks.append(
        Check(
            "HF_HOME",
            "ok" if os.environ.get("HF_HOME") else "info",
            str(locations.hf_home),
            ""
            if os.environ.get("HF_HOME")
            else "set HF_HOME to a folder on your largest local disk",
        )
    )
    return checks


def check_secrets() -> list[Check]:
    from magitui_core.credentials import SECRETS, resolve

    checks = []
    for name, spec in SECRETS.items():
        secret = resolve(name)
        if secret.value:
            checks.append(Check(spec.label, "ok", f"{secret.masked} from {secret.source}"))
        else:
            checks.append(
                Check(
                    spec.label,
                    "info",
                    "not set",
                    f"set {spec.env} or run: magitui credentials set {name}",
                )
            )
    return checks


def check_deepspeed_ops() -> Check:
    if _version("deepspeed") is None:
        return Check("DeepSpeed ops", "info", "deepspeed not installed")
    root = Path(os.environ.get("TORCH_EXTENSIONS_DIR") or Path.home() / ".cache/torch_extensions")
    built = sorted({p.parent.name for p in root.glob("**/cpu_adam*.so")}) if root.is_dir() else []
    compilers = [tool for tool in ("ninja", "g++", "nvcc") if shutil.which(tool)]
    detail = (
        f"CPU Adam built in {root}"
        if built
        else "CPU Adam not built yet: the first offload run compiles it (60–90 s)"
    )
    missing = {"ninja", "g++"} - set(compilers)
    if missing:
        return Check(
            "DeepSpeed ops",
            "warning",
            detail + f"; missing {', '.join(sorted(missing))}",
            "pip install ninja; apt-get install g++",
        )
    return Check("DeepSpeed ops", "ok", detail + f"; compilers: {', '.join(compilers)}")


def run_checks(workspace: Path, config_warnings: list[str]) -> list[Check]:
    from magitui_core.training.preflight import check_transformer_engine

    checks = [
        check_python(),
        *check_packages(),
        check_torch(),
        check_gpus(),
        *check_disks(workspace),
        *check_secrets(),
        check_deepspeed_ops(),
    ]
    engine = check_transformer_engine()
    checks += [Check("transformer_engine", f.level, f.message, f.fix) for f in engine] or [
        Check("transformer_engine", "ok", "not installed or importable")
    ]
    checks += [Check("config", "warning", warning) for warning in config_warnings]
    return checks
