"""Checks before a training launch: each walkthrough mistake caught while it is cheap.

Errors block the launch with the reason; warnings are shown and the user decides. The checks
take the machine's facts as arguments, so they run the same in the Setup screen, in
`magitui train` and in tests. The two probes that reach outside the process,
``check_transformer_engine`` (a subprocess) and ``check_gated_model`` (the Hub, offline-first),
stay out of ``preflight`` and are called beside it.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from magitui_core.training.accelerate_config import AccelerateSettings
from magitui_core.training.memory_advisor import ModelShape, model_states, optimizer_kind
from magitui_core.training.recipe import processes_text
from magitui_core.training.settings import TrainSettings

GB = 1024**3


@dataclass(frozen=True)
class Machine:
    gpu_count: int
    gpu_memory: int  # bytes, smallest GPU
    bf16: bool  # every GPU supports bfloat16 (compute capability ≥ 8.0)
    cpu_memory: int  # bytes
    free_disk: int  # bytes free where the checkpoints go


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    message: str
    fix: str


def machine_facts(out_dir: Path) -> Machine:
    """This machine's GPUs (NVML), memory and free disk where ``out_dir`` is."""
    import psutil

    from magitui_core.machine.gpu import NvmlSource

    source = NvmlSource()
    try:
        snapshot = source.read()
    finally:
        source.close()
    gpus = snapshot.gpus if snapshot.available else ()
    probe = out_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return Machine(
        gpu_count=len(gpus),
        gpu_memory=min((g.memory_total or 0 for g in gpus), default=0),
        bf16=bool(gpus) and all(g.bf16 for g in gpus),
        cpu_memory=psutil.virtual_memory().total,
        free_disk=psutil.disk_usage(str(probe)).free,
    )


def count_rows(paths: list[Path]) -> int:
    rows = 0
    for path in paths:
        with path.open("rb") as handle:
            rows += sum(1 for line in handle if line.strip())
    return rows


DATA_SAMPLE_LINES = 200  # enough to tell a file's format; the entry point checks every line


def preprocess_command(path: Path) -> str:
    """The `magitui preprocess` line that formats ``path`` into a file beside it."""
    out = path.with_name("train.jsonl")
    if out == path or out.exists():
        out = path.with_name(f"{path.stem}.train.jsonl")
    return f"magitui preprocess {shlex.quote(str(path))} --out {shlex.quote(str(out))}"


def _first_records(path: Path) -> list[tuple[int, object]]:
    """(line number, parsed JSON or None when not JSON) of the first non-empty lines."""
    found: list[tuple[int, object]] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                found.append((number, json.loads(line)))
            except json.JSONDecodeError:
                found.append((number, None))
            if len(found) >= DATA_SAMPLE_LINES:
                break
    return found


def check_data(paths: list[Path]) -> list[Finding]:
    """Each training file exists and holds instruction/response records; a file in another
    format (raw generation output: problem/solution) gets the command that formats it."""
    from magitui_core.curation.formats import INSTRUCTION_RESPONSE, detect_format

    findings = []
    for path in paths:
        if not path.is_file():
            findings.append(
                Finding(
                    "error",
                    f"training data {path} does not exist",
                    "give the formatted file from `magitui preprocess` (instruction/response "
                    "JSONL)",
                )
            )
            continue
        records = _first_records(path)
        usable = [
            number
            for number, record in records
            if isinstance(record, dict) and {"instruction", "response"} <= set(record)
        ]
        if not records:
            findings.append(
                Finding("error", f"training data {path} is empty", "give the formatted file")
            )
            continue
        if usable:
            bad = len(records) - len(usable)
            if bad:
                first = next(n for n, _ in records if n not in set(usable))
                findings.append(
                    Finding(
                        "warning",
                        f"{bad} of the first {len(records)} records of {path} are not "
                        f"instruction/response JSON (first: line {first}); training skips them",
                        f"check the file, or format it again: {preprocess_command(path)}",
                    )
                )
            continue
        number, first_record = records[0]
        if not isinstance(first_record, dict):
            findings.append(
                Finding(
                    "error",
                    f"training data {path} is not JSONL (line {number} is not a JSON object)",
                    "give the instruction/response JSONL written by `magitui preprocess`",
                )
            )
            continue
        fmt = detect_format(first_record)
        fields = ", ".join(sorted(first_record)) or "none"
        shape = {"src-instruct": "raw generation output"}.get(fmt or "", fmt or "")
        findings.append(
            Finding(
                "error",
                f"training data {path} is not formatted: line {number} has fields {fields}"
                + (f" ({shape})" if shape else "")
                + ", training needs instruction and response",
                f"format it first: {preprocess_command(path)}"
                if fmt is not None and fmt != INSTRUCTION_RESPONSE
                else "convert it to instruction/response JSONL; `magitui preprocess` reads "
                "problem/solution (generation output), instruction/output (evol-instruct) "
                "and instruction/input/output (codealpaca)",
            )
        )
    return findings


def check_batch(
    train: TrainSettings, accel: AccelerateSettings, rows: int, processes: int | None = None
) -> list[Finding]:
    """Too few optimizer steps for the data: a global batch sized for ~75 000 rows on a small
    file averages the whole file into a handful of steps."""
    processes = processes or accel.num_processes
    accum = train.grad_accum or max(1, train.global_batch // (train.per_device_batch * processes))
    effective = train.per_device_batch * accum * processes
    steps_per_epoch = math.ceil(rows / effective) if rows else 0
    total = train.max_steps if train.max_steps > 0 else math.ceil(steps_per_epoch * train.epochs)
    if steps_per_epoch <= 10:
        whole = f"; each step averages all {rows} rows, not {effective}" if rows < effective else ""
        return [
            Finding(
                "warning",
                f"effective batch {effective} ({train.per_device_batch} per device × "
                f"{accum} accumulation × {processes_text(processes)}) "
                f"on {rows} rows is {steps_per_epoch} optimizer step(s) per epoch, "
                f"{total} in all{whole}",
                "lower --global-batch so each epoch takes dozens of optimizer steps (the "
                "recipe's 512 suits its ~75 000 rows)",
            )
        ]
    return []


def check_optimizer(train: TrainSettings, accel: AccelerateSettings) -> list[Finding]:
    """ZeRO optimizer offload makes accelerate swap the optimizer for DeepSpeed's CPU Adam;
    the memory advisor refuses the same combinations (``offload_problem``)."""
    offloaded = accel.use_deepspeed and accel.offload_optimizer != "none"
    kind = optimizer_kind(train.optim)
    if not offloaded or kind == "adamw":
        return []
    if kind == "adamw_8bit":
        return [
            Finding(
                "warning",
                f"optimizer {train.optim} with ZeRO optimizer offload: accelerate replaces it with "
                "DeepSpeed's 32-bit CPU Adam, so the 8-bit memory saving is lost",
                "use --optim adamw_torch (same memory under offload), or turn optimizer "
                "offload off",
            )
        ]
    return [
        Finding(
            "error",
            f"optimizer {train.optim} with ZeRO optimizer offload: DeepSpeed swaps in its CPU "
            "Adam and crashes (adam_update(): incompatible function arguments)",
            "use --optim adamw_torch (the nearest choice that runs: DeepSpeed trains it as its "
            "CPU Adam), or drop --optim to have magitui choose it, or turn optimizer offload off",
        )
    ]


def check_hardware(
    train: TrainSettings, accel: AccelerateSettings, machine: Machine, shape: ModelShape | None
) -> list[Finding]:
    findings = []
    if accel.gpus > machine.gpu_count:
        findings.append(
            Finding(
                "error",
                f"{accel.gpus} GPUs requested, {machine.gpu_count} present",
                f"use --gpus {machine.gpu_count}"
                if machine.gpu_count
                else "train on a GPU machine",
            )
        )
    wants_bf16 = accel.mixed_precision == "bf16" or train.precision.startswith("bf16")
    if wants_bf16 and machine.gpu_count and not machine.bf16:
        findings.append(
            Finding(
                "error",
                "bf16 requested but these GPUs have no bfloat16 (compute capability < 8.0)",
                "use fp16 mixed precision",
            )
        )
    if shape is not None:
        gpu, cpu = model_states(
            shape,
            accel.zero_stage if accel.use_deepspeed else 0,
            accel.offload_optimizer if accel.offload_optimizer != "nvme" else "none",
            accel.offload_params if accel.offload_params != "nvme" else "none",
            max(1, accel.gpus),
            accel.num_machines,
            optimizer=optimizer_kind(train.optim) or "adamw",
        )
        if cpu > machine.cpu_memory:
            findings.append(
                Finding(
                    "error",
                    f"needs about {cpu / GB:.0f} GiB of CPU memory, "
                    f"this machine has {machine.cpu_memory / GB:.0f} GiB",
                    "offload less, or use more machines",
                )
            )
        if machine.gpu_count and gpu > machine.gpu_memory:
            findings.append(
                Finding(
                    "error",
                    f"model states need about {gpu / GB:.0f} GiB per GPU, "
                    f"a GPU has {machine.gpu_memory / GB:.0f} GiB",
                    "take the memory advisor's suggestion (higher ZeRO stage or CPU offload)",
                )
            )
        checkpoint = shape.parameters * 2 * (train.save_total_limit or 1) + shape.parameters * 2
        if checkpoint > machine.free_disk:
            findings.append(
                Finding(
                    "warning" if checkpoint < 2 * machine.free_disk else "error",
                    f"{train.save_total_limit or 1} checkpoint(s) plus the final model need about "
                    f"{checkpoint / GB:.0f} GiB; {machine.free_disk / GB:.0f} GiB are free",
                    "free space (magitui cache scan), lower save_total_limit, or choose "
                    "another --out",
                )
            )
    return findings


def check_transformer_engine(python: str = sys.executable) -> list[Finding]:
    """A transformer_engine built for another torch makes accelerate fail at import."""
    probe = subprocess.run(
        [python, "-c", "import transformer_engine"], capture_output=True, text=True, timeout=120
    )
    if probe.returncode != 0 and "undefined symbol" in probe.stderr:
        return [
            Finding(
                "error",
                "transformer_engine is installed but broken (undefined symbol)",
                f"{python} -m pip uninstall -y transformer-engine transformer_engine",
            )
        ]
    return []


GATED_FIX = (
    "accept its licence on huggingface.co/{model}, then run `magitui credentials set hf_token` "
    "(or set HF_TOKEN)"
)


def check_gated_model(model: str, timeout: float = 5.0) -> list[Finding]:
    """A Hub model that is not downloaded yet, with no Hugging Face token: ask the Hub (at
    HF_ENDPOINT, read now) whether it is gated, since the download would then fail mid-launch.

    Offline-first: a local folder, a model already in the cache, a token, or HF_HUB_OFFLINE
    mean no network call. Being offline is a warning, never an error.
    """
    from huggingface_hub import HfApi, try_to_load_from_cache
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        RepositoryNotFoundError,
    )
    from huggingface_hub.utils import validate_repo_id

    from magitui_core.cache.catalog import CacheLocations
    from magitui_core.credentials import resolve

    if Path(model).expanduser().is_dir():
        return []
    try:
        validate_repo_id(model)
    except HFValidationError:
        return []  # neither a folder nor a Hub id: the launch says so itself
    hub_cache = CacheLocations.from_env().hub  # HF_HOME as it is now, not at first import
    if isinstance(try_to_load_from_cache(model, "config.json", cache_dir=hub_cache), str):
        return []  # downloaded before, so access was granted
    if resolve("hf_token").value:
        return []
    unchecked = Finding(
        "warning",
        f"could not check whether base model {model} is gated (offline)",
        "if it is gated, accept its licence on its Hub page and run "
        "`magitui credentials set hf_token` before launching",
    )
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return [unchecked]
    gated = Finding(
        "error",
        f"base model {model} is gated and no Hugging Face token is set",
        GATED_FIX.format(model=model),
    )
    try:
        info = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None).model_info(
            model, timeout=timeout, token=False
        )
    except GatedRepoError:
        return [gated]
    except RepositoryNotFoundError:
        return [
            Finding(
                "error",
                f"base model {model} is not on the Hub (or is private)",
                "check the id on huggingface.co; for a private model run "
                "`magitui credentials set hf_token`",
            )
        ]
    except Exception:  # connection refused, DNS, timeout, a proxy's error page: no verdict
        return [unchecked]
    # The Hub lists a gated model's info freely ("gated": "auto"/"manual"); only its files
    # need the token.
    return [gated] if info.gated else []


def preflight(
    train: TrainSettings,
    accel: AccelerateSettings,
    machine: Machine,
    rows: int | None,
    shape: ModelShape | None,
    processes: int | None = None,
) -> list[Finding]:
    """Every check, errors first; ``rows`` None when there is no data yet to judge batches by,
    ``processes`` None for the config's count."""
    findings = [
        *check_optimizer(train, accel),
        *check_hardware(train, accel, machine, shape),
        *(check_batch(train, accel, rows, processes) if rows is not None else []),
    ]
    return sorted(findings, key=lambda f: f.level != "error")
