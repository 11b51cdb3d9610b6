"""Who is using a cache entry: running magitui jobs (by their command line) and
any process holding one of its files open or mapped.

A job that names a repo id (``--model org/name``) loads whatever ``refs/main``
points to, so it pins the repo's referenced revisions; detached revisions stay
free to delete. A job that names a path pins what that path lies in.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

from magitui_core.cache.extras import ExtraEntry
from magitui_core.cache.hub_scan import HubRepo, HubRevision


@dataclass(frozen=True)
class JobUse:
    job_id: str
    label: str  # "job train-llama-3c4d5e (train)"
    tokens: frozenset[str]
    paths: tuple[Path, ...]  # real paths named in its command


@dataclass(frozen=True)
class OpenFile:
    path: Path
    pid: int
    process: str


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def job_uses(jobs: Iterable[object]) -> list[JobUse]:
    """What each live job's command line names (status.json ``command``)."""
    uses = []
    for job in jobs:
        if not getattr(job, "is_live", False):
            continue
        status = job.status  # type: ignore[attr-defined]
        tokens: set[str] = set()
        paths: list[Path] = []
        for arg in status.command:
            # "--model=org/name", "a,b" and plain args all yield their parts.
            parts = {arg, *arg.split("=", 1)[1:]}
            parts |= {piece for part in list(parts) for piece in part.split(",")}
            for part in parts:
                part = part.strip()
                if not part:
                    continue
                tokens.add(part.rstrip("/"))
                if "/" in part or part.startswith((".", "~")):
                    candidate = Path(os.path.expanduser(part))
                    if not candidate.is_absolute():
                        candidate = Path(status.cwd) / candidate
                    paths.append(Path(os.path.realpath(candidate)))
        label = f"job {job.id} ({status.kind}: {status.name})"  # type: ignore[attr-defined]
        uses.append(JobUse(job.id, label, frozenset(tokens), tuple(paths)))  # type: ignore[attr-defined]
    return uses


def _repo_names(repo: HubRepo) -> set[str]:
    plural = f"{repo.repo_type}s"
    return {
        repo.repo_id,
        f"{repo.repo_type}/{repo.repo_id}",
        f"{plural}/{repo.repo_id}",
        f"hf://{plural}/{repo.repo_id}",
        repo.path.name,
    }


def jobs_holding_repo(repo: HubRepo, uses: list[JobUse]) -> list[str]:
    """Jobs that would break if the whole repo went."""
    names = _repo_names(repo)
    real = Path(os.path.realpath(repo.path))
    held = []
    for use in uses:
        if use.tokens & names or any(_inside(p, real) for p in use.paths):
            held.append(use.label)
    return held


def _pins_revision(path: Path, real_repo: Path, real_snapshot: Path) -> bool:
    if _inside(path, real_snapshot):
        return True
    if not _inside(path, real_repo):
        return False
    # A path into another snapshot pins only that one; the repo, its blobs or refs pin all.
    return (real_repo / "snapshots") not in path.parents


def jobs_holding_revision(repo: HubRepo, revision: HubRevision, uses: list[JobUse]) -> list[str]:
    """Jobs that would break if this one revision went."""
    names = _repo_names(repo)
    real_repo = Path(os.path.realpath(repo.path))
    real_snapshot = Path(os.path.realpath(revision.snapshot_path))
    held = []
    for use in uses:
        by_name = bool(use.tokens & names) and not revision.detached
        by_hash = revision.commit_hash in use.tokens
        by_path = any(_pins_revision(p, real_repo, real_snapshot) for p in use.paths)
        if by_name or by_hash or by_path:
            held.append(use.label)
    return held


def jobs_holding_entry(entry: ExtraEntry, uses: list[JobUse]) -> list[str]:
    """Jobs whose command names a path in the entry or a folder holding it (up to the
    scanned root, e.g. a training run's output folder), or the dataset it caches."""
    real = Path(os.path.realpath(entry.path))
    real_root = Path(os.path.realpath(entry.root))
    held = []
    for use in uses:
        by_path = any(
            _inside(p, real) or (_inside(real, p) and _inside(p, real_root)) for p in use.paths
        )
        # The datasets cache names folders "org___name"; a job asking for org/name uses them.
        by_name = entry.kind == "datasets-cache" and any(
            "/" in token and entry.name.startswith(token.replace("/", "___"))
            for token in use.tokens
        )
        if by_path or by_name:
            held.append(use.label)
    return held


def open_files_under(files: Iterable[Path], folders: Iterable[Path]) -> list[OpenFile]:
    """Processes (other than this one) holding any of ``files`` or anything under ``folders``
    open or memory-mapped (safetensors maps its files). Best effort: processes we may not
    inspect are skipped."""
    wanted = {os.path.realpath(f) for f in files}
    prefixes = tuple(os.path.realpath(d).rstrip("/") + "/" for d in folders)
    if not wanted and not prefixes:
        return []
    found: dict[tuple[str, int], OpenFile] = {}
    me = os.getpid()
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.pid == me:
            continue
        try:
            paths = [f.path for f in proc.open_files()]
            paths += [m.path for m in proc.memory_maps(grouped=True) if m.path.startswith("/")]
        except (psutil.Error, OSError):
            continue
        for path in paths:
            if path in wanted or path.startswith(prefixes):
                key = (path, proc.pid)
                found.setdefault(key, OpenFile(Path(path), proc.pid, proc.info["name"] or "?"))
    return sorted(found.values(), key=lambda f: (str(f.path), f.pid))
