"""What every front end opens first: the config in force, the workspace, the jobs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from magitui_core import paths
from magitui_core.config import LoadedConfig, MagituiConfig, load_config
from magitui_core.jobs.manager import JobManager
from magitui_core.workspace import Workspace


@dataclass
class Context:
    loaded: LoadedConfig
    workspace: Workspace
    jobs: JobManager
    warnings: list[str] = field(default_factory=list)

    @property
    def config(self) -> MagituiConfig:
        return self.loaded.config


def open_context(workspace: str | os.PathLike[str] | None = None) -> Context:
    """Load config and open (creating if needed) the workspace; problems become warnings
    where magitui can carry on, and a WorkspaceError where it cannot."""
    loaded = load_config()
    root = paths.resolve_workspace(workspace, loaded.config.workspace.path)
    ws = Workspace(Path(root)).ensure()  # raises WorkspaceError with the fix in its message
    warnings = list(loaded.warnings)
    from magitui_core.credentials import permission_warning

    perm = permission_warning()
    if perm:
        warnings.append(perm)
    env_defaults = {}
    if loaded.config.huggingface.hf_home:
        env_defaults["HF_HOME"] = str(loaded.config.huggingface.hf_home.expanduser())
    jobs = JobManager(ws, env_defaults=env_defaults)
    return Context(loaded=loaded, workspace=ws, jobs=jobs, warnings=warnings)
