"""The accelerate + DeepSpeed configuration: every question `accelerate config` asks for
fine-tuning, validated, written as the YAML `accelerate launch --config_file` reads and the
DeepSpeed JSON it points to.

The answers are the one source of truth for processes, gradient accumulation, precision and
clipping: `magitui train --accelerate-config` reads them back (``read_launch_config``) and
passes them to the training entry point as explicit arguments. The DeepSpeed JSON also carries
the accumulation, and the clipping when there is one, so DeepSpeed and HF Trainer refuse a
launch whose arguments say otherwise (Trainer's "mismatch" check); the per-device batch and
the precision stay "auto", filled from the training arguments.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from magitui_core.atomic import write_text_atomic

ACCELERATE_FILE = "accelerate.yaml"
DEEPSPEED_FILE = "deepspeed.json"
ANSWERS_FILE = "setup-answers.json"  # the answers themselves, to reopen and to check launches
Offload = Literal["none", "cpu", "nvme"]
# accelerate's DEEPSPEED_MULTINODE_LAUNCHERS, in its order ("slurm", new in accelerate 1.15,
# left out so the files load with older accelerate too).
Launcher = Literal["pdsh", "standard", "openmpi", "mvapich", "mpich", "nossh"]
MULTINODE_LAUNCHERS: tuple[str, ...] = get_args(Launcher)


class AccelerateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_machines: int = Field(1, ge=1)
    machine_rank: int = Field(0, ge=0)
    main_process_ip: str | None = None
    main_process_port: int = Field(29500, ge=1024, le=65535)
    same_network: bool = True
    rdzv_backend: Literal["static", "c10d"] = "static"
    # How DeepSpeed starts the ranks on the other machines (accelerate's
    # deepspeed_multinode_launcher): "standard" is torch's own launcher, run on every machine.
    multinode_launcher: Launcher = "standard"
    gpus: int = Field(1, ge=0, description="GPUs on this machine to use (0: CPU only)")
    mixed_precision: Literal["bf16", "fp16", "no"] = "bf16"
    use_deepspeed: bool = True
    zero_stage: Literal[0, 1, 2, 3] = 2
    offload_optimizer: Offload = "none"
    offload_params: Offload = "none"
    nvme_path: Path | None = None
    grad_accum: int = Field(1, ge=1)
    grad_clip: float | None = Field(None, gt=0, description="None: no clipping (the recipe's)")
    zero3_save_16bit: bool = True  # without it ZeRO-3 saves no usable model
    zero3_init: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> AccelerateSettings:
        if self.machine_rank >= self.num_machines:
            raise ValueError(
                f"machine_rank {self.machine_rank} must be below num_machines "
                f"{self.num_machines} (ranks count from 0)"
            )
        if self.num_machines > 1 and not self.main_process_ip:
            raise ValueError("main_process_ip is needed when training on several machines")
        if self.main_process_ip:  # checked even on one machine: never silently dropped
            try:
                ipaddress.ip_address(self.main_process_ip)
            except ValueError:
                raise ValueError(
                    f"main_process_ip {self.main_process_ip!r} is not an IP address (e.g. 10.0.0.2)"
                ) from None
        if self.offload_params != "none" and self.zero_stage != 3:
            raise ValueError("offloading parameters needs ZeRO stage 3")
        if self.offload_optimizer != "none" and self.zero_stage < 1:
            raise ValueError("offloading the optimizer needs ZeRO stage 1, 2 or 3")
        uses_nvme = "nvme" in (self.offload_optimizer, self.offload_params)
        if uses_nvme and self.nvme_path is None:
            raise ValueError("NVMe offload needs nvme_path, a folder on a fast local disk")
        return self

    @property
    def num_processes(self) -> int:
        return max(1, self.gpus) * self.num_machines


def deepspeed_config(settings: AccelerateSettings) -> dict[str, Any]:
    zero: dict[str, Any] = {"stage": settings.zero_stage, "overlap_comm": True}
    for key, device in (
        ("offload_optimizer", settings.offload_optimizer),
        ("offload_param", settings.offload_params),
    ):
        if device != "none":
            zero[key] = {"device": device, "pin_memory": True}
            if device == "nvme":
                zero[key]["nvme_path"] = str(settings.nvme_path)
    if settings.zero_stage == 3:
        zero["stage3_gather_16bit_weights_on_model_save"] = settings.zero3_save_16bit
    return {
        "zero_optimization": zero,
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "train_micro_batch_size_per_gpu": "auto",
        "train_batch_size": "auto",
        "gradient_accumulation_steps": settings.grad_accum,
        # No clipping (the recipe's) stays "auto": Trainer fills in its off value (0).
        "gradient_clipping": settings.grad_clip if settings.grad_clip is not None else "auto",
    }


def accelerate_config(settings: AccelerateSettings, deepspeed_file: Path) -> dict[str, Any]:
    if settings.use_deepspeed:
        distributed = "DEEPSPEED"
    elif settings.num_processes > 1:
        distributed = "MULTI_GPU" if settings.gpus else "MULTI_CPU"
    else:
        distributed = "NO"
    config: dict[str, Any] = {
        "compute_environment": "LOCAL_MACHINE",
        "debug": False,
        "distributed_type": distributed,
        "downcast_bf16": "no",
        "enable_cpu_affinity": False,
        "machine_rank": settings.machine_rank,
        "main_training_function": "main",
        "mixed_precision": settings.mixed_precision,
        "num_machines": settings.num_machines,
        "num_processes": settings.num_processes,
        "rdzv_backend": settings.rdzv_backend,
        "same_network": settings.same_network,
        "tpu_env": [],
        "tpu_use_cluster": False,
        "tpu_use_sudo": False,
        "use_cpu": settings.gpus == 0 and not settings.use_deepspeed,
    }
    if settings.gpus:
        config["gpu_ids"] = "all"
    if settings.num_machines > 1:
        config["main_process_ip"] = settings.main_process_ip
        config["main_process_port"] = settings.main_process_port
    if settings.use_deepspeed:
        config["deepspeed_config"] = {
            "deepspeed_config_file": str(deepspeed_file),
            "zero3_init_flag": settings.zero_stage == 3 and settings.zero3_init,
        }
        if settings.num_machines > 1:
            config["deepspeed_config"]["deepspeed_multinode_launcher"] = settings.multinode_launcher
        # Precision then comes from the DeepSpeed file ("auto" = the training arguments').
        config.pop("mixed_precision")
    return config


def render(settings: AccelerateSettings, out_dir: Path) -> tuple[str, str]:
    """The YAML and JSON texts, as they would be written into ``out_dir``."""
    import yaml

    deepspeed_file = out_dir.resolve() / DEEPSPEED_FILE
    yaml_text = yaml.safe_dump(accelerate_config(settings, deepspeed_file), sort_keys=True)
    json_text = json.dumps(deepspeed_config(settings), indent=2) + "\n"
    return yaml_text, json_text


def write_configs(settings: AccelerateSettings, out_dir: Path) -> tuple[Path, Path]:
    """Write accelerate.yaml (+ deepspeed.json when DeepSpeed is on) into ``out_dir``,
    with the answers beside them."""
    yaml_text, json_text = render(settings, out_dir)
    yaml_path, json_path = out_dir / ACCELERATE_FILE, out_dir / DEEPSPEED_FILE
    write_text_atomic(yaml_path, yaml_text)
    if settings.use_deepspeed:
        write_text_atomic(json_path, json_text)
    write_text_atomic(out_dir / ANSWERS_FILE, settings.model_dump_json(indent=2) + "\n")
    return yaml_path, json_path


def load_answers(config_dir: Path) -> AccelerateSettings | None:
    """The answers saved with a config (None for a config written by other tools)."""
    path = config_dir / ANSWERS_FILE
    if not path.is_file():
        return None
    return AccelerateSettings.model_validate_json(path.read_text(encoding="utf-8"))


class LaunchConfigError(ValueError):
    """An accelerate config that cannot be read; the message names the file and the fix."""


@dataclass(frozen=True)
class LaunchConfig:
    """What an accelerate config fixes for a training launch, and which file said so.

    ``grad_accum`` and ``mixed_precision`` are None where no file says (a DeepSpeed JSON with
    "auto" and no answers beside it); ``grad_clip`` is None for no clipping, and
    ``clipping_known`` False where nothing says either way."""

    yaml_path: Path
    processes: int  # accelerate's num_processes: all machines together
    num_machines: int
    use_deepspeed: bool
    zero_stage: int
    offload_optimizer: str
    offload_params: str
    mixed_precision: str | None
    grad_accum: int | None
    grad_clip: float | None
    clipping_known: bool
    answers: AccelerateSettings | None
    sources: dict[str, str] = field(default_factory=dict)

    def accelerate_settings(self) -> AccelerateSettings:
        """The answers, or the nearest equivalent of a config other tools wrote (unchecked:
        preflight judges it rather than refusing to read it)."""
        if self.answers is not None:
            return self.answers
        values: dict[str, Any] = {
            "num_machines": self.num_machines,
            "gpus": max(1, self.processes // max(1, self.num_machines)),
            "mixed_precision": self.mixed_precision or "no",
            "use_deepspeed": self.use_deepspeed,
            "zero_stage": self.zero_stage,
            "offload_optimizer": self.offload_optimizer,
            "offload_params": self.offload_params,
            "grad_accum": self.grad_accum or 1,
            "grad_clip": self.grad_clip,
        }
        return AccelerateSettings.model_construct(**values)


def config_yaml_path(path: Path) -> Path:
    """``path`` itself, or the accelerate.yaml inside a folder."""
    return path / ACCELERATE_FILE if path.is_dir() else path


def _number(value: Any) -> float | None:
    """A DeepSpeed value that is a number (not "auto", not missing)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _deepspeed_values(yaml_config: dict[str, Any], yaml_path: Path) -> tuple[dict[str, Any], str]:
    """The DeepSpeed settings of an accelerate YAML, from its JSON file or inline, and where."""
    section = yaml_config.get("deepspeed_config") or {}
    if not isinstance(section, dict):
        raise LaunchConfigError(f"{yaml_path}: deepspeed_config is not a mapping")
    json_file = section.get("deepspeed_config_file")
    if not json_file:
        inline = {
            "gradient_accumulation_steps": section.get("gradient_accumulation_steps"),
            "gradient_clipping": section.get("gradient_clipping"),
            "zero_optimization": {
                "stage": section.get("zero_stage", 0),
                "offload_optimizer": {"device": section.get("offload_optimizer_device", "none")},
                "offload_param": {"device": section.get("offload_param_device", "none")},
            },
        }
        return inline, str(yaml_path)
    json_path = Path(str(json_file)).expanduser()
    if not json_path.is_absolute():
        json_path = yaml_path.parent / json_path
    try:
        values = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LaunchConfigError(
            f"{yaml_path} names the DeepSpeed config {json_path}, which does not exist — "
            "write both again with `magitui accelerate-config` or the Setup screen"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise LaunchConfigError(f"cannot read DeepSpeed config {json_path}: {exc}") from None
    if not isinstance(values, dict):
        raise LaunchConfigError(f"DeepSpeed config {json_path} is not a JSON object")
    return values, str(json_path)


def read_launch_config(path: Path) -> LaunchConfig:
    """Processes, gradient accumulation, precision, clipping and ZeRO offload of the accelerate
    config at ``path`` (the YAML, or the folder holding it), from the YAML and its DeepSpeed
    JSON first — what accelerate and DeepSpeed will really use — and from the Setup answers
    saved beside them for what those leave open (accumulation and clipping of a run without
    DeepSpeed, "auto" values). Raises LaunchConfigError when the files cannot be read or say
    different things."""
    import yaml

    yaml_path = config_yaml_path(path)
    if not yaml_path.is_file():
        raise LaunchConfigError(
            f"accelerate config {yaml_path} does not exist — write one with "
            "`magitui accelerate-config` or the Setup screen"
        )
    try:
        loaded = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LaunchConfigError(f"cannot read accelerate config {yaml_path}: {exc}") from None
    if not isinstance(loaded, dict):
        raise LaunchConfigError(f"accelerate config {yaml_path} is not a YAML mapping")
    try:
        answers = load_answers(yaml_path.parent)
    except ValueError as exc:  # pydantic's ValidationError is one
        raise LaunchConfigError(
            f"cannot read the Setup answers {yaml_path.parent / ANSWERS_FILE}: {exc}"
        ) from None
    where = str(yaml_path)
    sources = {"processes": where}
    use_deepspeed = loaded.get("distributed_type") == "DEEPSPEED"
    processes = int(loaded.get("num_processes") or 1)
    num_machines = int(loaded.get("num_machines") or 1)
    precision: str | None = loaded.get("mixed_precision")
    accum: int | None = None
    clip: float | None = None
    clipping_known = False
    stage, offload_optimizer, offload_params = 0, "none", "none"
    if precision is not None:
        sources["mixed_precision"] = where
    if use_deepspeed:
        values, ds_where = _deepspeed_values(loaded, yaml_path)
        steps = _number(values.get("gradient_accumulation_steps"))
        if steps is not None:
            accum, sources["grad_accum"] = int(steps), ds_where
        clipping = _number(values.get("gradient_clipping"))
        if clipping is not None:
            # DeepSpeed clips only above 0, like Trainer.
            clip = clipping if clipping > 0 else None
            clipping_known, sources["grad_clip"] = True, ds_where
        enabled = {name: (values.get(name) or {}).get("enabled") for name in ("bf16", "fp16")}
        if True in enabled.values():
            precision = "bf16" if enabled["bf16"] is True else "fp16"
            sources["mixed_precision"] = ds_where
        elif enabled["bf16"] is False and enabled["fp16"] is False:
            precision, sources["mixed_precision"] = "no", ds_where
        zero = values.get("zero_optimization") or {}
        stage = int(zero.get("stage") or 0)
        offload_optimizer = str((zero.get("offload_optimizer") or {}).get("device") or "none")
        offload_params = str((zero.get("offload_param") or {}).get("device") or "none")
    if answers is not None:
        answers_where = str(yaml_path.parent / ANSWERS_FILE)
        stated = (
            ("processes", "processes", processes, answers.num_processes),
            ("gradient accumulation", "grad_accum", accum, answers.grad_accum),
        )
        for name, key, in_files, in_answers in stated:
            if in_files is not None and in_files != in_answers:
                raise LaunchConfigError(
                    f"{name}: {sources[key]} says {in_files}, {answers_where} says "
                    f"{in_answers} — the files were edited apart; write them again from the "
                    "Setup screen or `magitui accelerate-config`"
                )
        if accum is None:
            accum, sources["grad_accum"] = answers.grad_accum, answers_where
        if not clipping_known:
            clip, clipping_known, sources["grad_clip"] = answers.grad_clip, True, answers_where
        if precision is None:
            precision, sources["mixed_precision"] = answers.mixed_precision, answers_where
    return LaunchConfig(
        yaml_path=yaml_path,
        processes=processes,
        num_machines=num_machines,
        use_deepspeed=use_deepspeed,
        zero_stage=stage,
        offload_optimizer=offload_optimizer,
        offload_params=offload_params,
        mixed_precision=precision,
        grad_accum=accum,
        grad_clip=clip,
        clipping_known=clipping_known,
        answers=answers,
        sources=sources,
    )
