"""The workspace: one folder per pipeline run, plus jobs that belong to no run.

<workspace>/
  runs/<name>/run.toml        the run's config snapshot
  runs/<name>/data/           generated and curated data
  runs/<name>/jobs/<id>/      that run's jobs (status.json, events.jsonl, output.log)
  runs/<name>/checkpoints/    training output
  jobs/<id>/                  jobs started outside any run
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from magitui_core.atomic import write_text_atomic
from magitui_core.disk_space import write_failed

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

RUN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RUN_FILE = "run.toml"
RUN_SUBDIRS = ("data", "jobs", "checkpoints")
# What generation writes in a run's data/ by default, and so what curation reads by default.
GENERATED_NAME = "generated.jsonl"


class WorkspaceError(Exception):
    """A workspace operation that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class RunInfo:
    name: str
    path: Path
    created_at: float
    job_count: int

    @property
    def jobs_dir(self) -> Path:
        return self.path / "jobs"


def validate_run_name(name: str) -> str:
    if not RUN_NAME_RE.match(name):
        raise WorkspaceError(
            f"run name {name!r} is not allowed — use 1–64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 'llama-oss-1')"
        )
    return name


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def jobs_dir(self) -> Path:
        return self.root / "jobs"

    def ensure(self) -> Workspace:
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            self.jobs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(
                f"cannot create workspace {self.root} ({exc.strerror}) — choose another "
                "with --workspace DIR or MAGITUI_HOME"
            ) from None
        return self

    def run_path(self, name: str) -> Path:
        return self.runs_dir / validate_run_name(name)

    def job_dirs(self) -> list[Path]:
        """Every job folder: the workspace's own and each run's (not ones being made)."""
        dirs = [p for p in self.jobs_dir.glob("*") if p.is_dir()]
        dirs += [p for p in self.runs_dir.glob("*/jobs/*") if p.is_dir()]
        return [d for d in dirs if not d.name.startswith(".")]

    def list_runs(self) -> list[RunInfo]:
        runs = []
        for path in sorted(self.runs_dir.glob("*")):
            if path.is_dir() and RUN_NAME_RE.match(path.name):
                runs.append(self._info(path))
        return runs

    def get_run(self, name: str) -> RunInfo:
        path = self.run_path(name)
        if not path.is_dir():
            known = ", ".join(r.name for r in self.list_runs()) or "none yet"
            raise WorkspaceError(f"no run named {name!r} in {self.runs_dir} — runs: {known}")
        return self._info(path)

    def create_run(
        self, name: str, snapshot: dict[str, Any] | None = None, created_at: float | None = None
    ) -> RunInfo:
        """Create runs/<name>/ with its folders and a snapshot of the settings in force."""
        path = self.run_path(name)
        if path.exists():
            if not (path / RUN_FILE).exists():
                raise WorkspaceError(
                    f"{path} is a half-made run (no {RUN_FILE}) — remove it first: "
                    f"magitui runs delete {name}"
                )
            raise WorkspaceError(f"a run named {name!r} already exists at {path}")
        import tomlkit  # writing keeps comments; reading (every poll) uses tomllib

        self.ensure()
        document = tomlkit.document()
        document.add(tomlkit.comment("magitui run: settings in force when the run was created."))
        document["name"] = name
        document["created_at"] = time.time() if created_at is None else created_at
        if snapshot:
            document["config"] = _tomlable(snapshot)

        def fill(folder: Path) -> None:
            for sub in RUN_SUBDIRS:
                (folder / sub).mkdir()
            write_text_atomic(folder / RUN_FILE, tomlkit.dumps(document))

        make_folder(path, fill, "creating run")
        return self._info(path)

    def rename_run(self, old: str, new: str, live_job_ids: list[str] | None = None) -> RunInfo:
        source = self.get_run(old).path
        target = self.run_path(new)
        if target.exists():
            raise WorkspaceError(f"cannot rename {old!r} to {new!r}: a run named {new!r} exists")
        _refuse_if_live(old, "rename", live_job_ids)
        source.rename(target)
        import tomlkit

        document = tomlkit.parse((target / RUN_FILE).read_text(encoding="utf-8"))
        document["name"] = new
        write_text_atomic(target / RUN_FILE, tomlkit.dumps(document))
        return self._info(target)

    def delete_run(self, name: str, live_job_ids: list[str] | None = None) -> None:
        path = self.get_run(name).path
        _refuse_if_live(name, "delete", live_job_ids)
        shutil.rmtree(path)

    def _info(self, path: Path) -> RunInfo:
        created = path.stat().st_mtime
        try:
            document = tomllib.loads((path / RUN_FILE).read_text(encoding="utf-8"))
            created = float(document.get("created_at", created))
        except (OSError, ValueError):  # TOMLDecodeError is a ValueError
            pass
        jobs = sum(1 for p in (path / "jobs").glob("*") if p.is_dir())
        return RunInfo(name=path.name, path=path, created_at=created, job_count=jobs)


def make_folder(path: Path, fill: Callable[[Path], None], doing: str) -> None:
    """Make ``path`` whole or not at all: filled under a hidden temporary name, then renamed.

    A full disk (or any failure) leaves nothing behind that could block the name or show up
    half-made in a list; the error says where, how much room is left and what to do.
    """
    partial = path.parent / f".{path.name}.partial-{os.getpid()}"
    try:
        partial.mkdir(parents=True)
        fill(partial)
        os.rename(partial, path)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise WorkspaceError(write_failed(path, exc, doing, then="try again")) from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _refuse_if_live(name: str, action: str, live_job_ids: list[str] | None) -> None:
    if live_job_ids:
        raise WorkspaceError(
            f"cannot {action} run {name!r} while its jobs run: {', '.join(live_job_ids)} — "
            "stop them first (magitui jobs stop ID)"
        )


def _tomlable(value: Any) -> Any:
    """TOML has no null: drop None values from a snapshot and stringify paths."""
    if isinstance(value, dict):
        return {str(k): _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_tomlable(v) for v in value if v is not None]
    if isinstance(value, Path):
        return str(value)
    return value


def dir_size(path: Path) -> int:
    """Bytes used under ``path`` (symlinks not followed)."""
    total = 0
    for entry in path.rglob("*"):
        try:
            if entry.is_file() and not entry.is_symlink():
                total += entry.stat().st_size
        except OSError:
            continue
    return total
