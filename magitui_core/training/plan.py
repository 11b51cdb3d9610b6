"""A training launch planned and started: one path for `magitui train` and the Train screen.

`plan_launch` settles every choice and runs every preflight check without starting
anything (what `--dry-run` prints and the Train screen shows before Start); `start_training`
takes a plan whose checks passed, claims the output folder and starts the detached job.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magitui_core.training.launch import (
    LaunchError,
    LaunchRequest,
    ResolvedLaunch,
    launch_findings,
    newest_checkpoint,
    resolve_launch,
)
from magitui_core.training.preflight import Finding, Machine, machine_facts
from magitui_core.training.recipe import deviations

if TYPE_CHECKING:
    from magitui_core.jobs.manager import JobInfo, JobManager


@dataclass
class LaunchPlan:
    request: LaunchRequest
    resolved: ResolvedLaunch
    findings: list[Finding]
    notes: list[str]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.level == "error")

    @property
    def command(self) -> list[str]:
        return self.resolved.command

    def record(self) -> dict[str, Any]:
        """`--dry-run --json`: the resolved launch as one object."""
        resolved = self.resolved
        return {
            "launchable": self.errors == 0,
            "command": resolved.command,
            "command_line": shlex.join(resolved.command),
            "accelerate_config": str(resolved.config.yaml_path) if resolved.config else None,
            "effective": resolved.effective,
            "deviations": deviations(resolved.effective),
            "findings": [asdict(f) for f in self.findings],
            "errors": self.errors,
            "notes": self.notes,
        }


def plan_launch(request: LaunchRequest, machine: Machine | None = None) -> LaunchPlan:
    """Resolve and check a launch; raises LaunchError for what cannot even be resolved
    (a conflict with the accelerate config, a missing model folder, bad numbers)."""
    machine = machine or machine_facts(request.out)
    resolved = resolve_launch(request, machine)
    findings, notes = launch_findings(resolved, machine)
    return LaunchPlan(request, resolved, findings, notes)


def job_name(base_model: str) -> str:
    return f"train {Path(base_model.rstrip('/')).name}"


def start_training(jobs: JobManager, plan: LaunchPlan, run: str | None = None) -> JobInfo:
    """Start the planned training as a detached job. Refused (LaunchError) while another
    training writes to the same output folder, or when the folder cannot be made."""
    from magitui_core.jobs.locks import OutputLocked, ensure_free

    out = plan.resolved.settings.out
    try:
        ensure_free(out)  # a training already writes there: refused before a job is made
    except OutputLocked as exc:
        raise LaunchError(str(exc)) from None
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LaunchError(f"cannot create output folder {out}: {exc.strerror}") from None
    return jobs.start(plan.command, name=job_name(plan.request.base_model), kind="train", run=run)


def trained_output(out: Path) -> list[str]:
    """What a finished or stopped training left in ``out`` that a new one would write over
    (its final model and its checkpoints), for asking before starting there."""
    found = []
    if (out / "final" / "config.json").is_file():
        found.append("final")
    checkpoint = newest_checkpoint(out)
    if checkpoint is not None:
        found.append(checkpoint.name)
    return found
