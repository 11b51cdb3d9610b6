"""The accelerate + DeepSpeed configuration: every question `accelerate config` asks for
fine-tuning, validated, written as the YAML `accelerate launch --config_file` reads and the
DeepSpeed JSON it points to.

The DeepSpeed JSON leaves batch size, accumulation, clipping and precision on "auto", so HF
Trainer fills them from the training arguments and the two can never disagree.
"""

from __future__ import annotations

import ipaddress
import json
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
        if self.num_machines > 1:
            if not self.main_process_ip:
                raise ValueError("main_process_ip is needed when training on several machines")
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
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
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
