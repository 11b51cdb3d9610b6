"""The Hugging Face cache and its neighbours: where they are, what is in them,
and resolving what a user asks to delete.

Locations come from the environment the way huggingface_hub reads it
(HF_HOME, HF_HUB_CACHE, HF_DATASETS_CACHE, HF_XET_CACHE), read at call time so
nothing depends on when huggingface_hub was first imported.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.cache.extras import ExtraEntry, ExtraRoot, scan_extras, tree_usage
from magitui_core.cache.hub_scan import HubRepo, HubRevision, HubScan, Progress, no_progress
from magitui_core.cache.hub_scan import scan_hub_cache as scan_hub_cache
from magitui_core.model_source import is_hub_id, looks_like_path

HEX_RE = re.compile(r"^[0-9a-f]{7,64}$")


class CacheError(Exception):
    """A cache request that cannot be done; the message names the thing and the fix."""


def format_size(num: float) -> str:
    """1536 -> '1.5K': short enough for a table column, like `huggingface-cli scan-cache`."""
    for unit in ("", "K", "M", "G", "T", "P"):
        if abs(num) < 1000.0:
            return f"{num:.0f}" if unit == "" else f"{num:.1f}{unit}"
        num /= 1000.0
    return f"{num:.1f}E"


def format_age(timestamp: float, now: float | None = None) -> str:
    seconds = max(0.0, (time.time() if now is None else now) - timestamp)
    for unit, length in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{int(seconds // length)}{unit} ago"
    return "just now"


@dataclass(frozen=True)
class CacheLocations:
    hf_home: Path
    hub: Path
    datasets: Path
    xet: Path
    torch_extensions: Path
    pip: Path
    runs_dir: Path | None  # the workspace's runs/, for old checkpoints

    @classmethod
    def from_env(
        cls, runs_dir: Path | None = None, env: Mapping[str, str] | None = None
    ) -> CacheLocations:
        env = os.environ if env is None else env

        def path(value: str) -> Path:
            return Path(value).expanduser()

        xdg = path(env.get("XDG_CACHE_HOME") or "~/.cache")
        hf_home = path(env.get("HF_HOME") or str(xdg / "huggingface"))
        hub = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
        return cls(
            hf_home=hf_home,
            hub=path(hub) if hub else hf_home / "hub",
            datasets=path(env["HF_DATASETS_CACHE"])
            if env.get("HF_DATASETS_CACHE")
            else hf_home / "datasets",
            xet=path(env["HF_XET_CACHE"]) if env.get("HF_XET_CACHE") else hf_home / "xet",
            torch_extensions=path(env["TORCH_EXTENSIONS_DIR"])
            if env.get("TORCH_EXTENSIONS_DIR")
            else xdg / "torch_extensions",
            pip=path(env["PIP_CACHE_DIR"]) if env.get("PIP_CACHE_DIR") else xdg / "pip",
            runs_dir=runs_dir,
        )

    def extra_roots(self) -> list[ExtraRoot]:
        """The non-hub folders to scan; one that holds the hub cache is skipped, so
        an entry can never swallow the hub (or the other way round)."""
        roots = [
            ExtraRoot("datasets-cache", self.datasets, "datasets cache"),
            ExtraRoot("xet", self.xet, "xet cache"),
            ExtraRoot("torch-ext", self.torch_extensions, "torch extensions"),
            ExtraRoot("pip", self.pip, "pip cache"),
        ]
        hub = self.hub.resolve()
        kept = []
        for root in roots:
            real = root.path.resolve()
            if real == hub or real in hub.parents or hub in real.parents:
                continue
            kept.append(root)
        return kept

    def to_dict(self) -> dict[str, str | None]:
        return {
            name: (str(value) if value is not None else None)
            for name, value in self.__dict__.items()
        }


@dataclass
class CacheScan:
    locations: CacheLocations
    hub: HubScan
    extras: tuple[ExtraEntry, ...]
    scanned_at: float = field(default_factory=time.time)

    @property
    def total_size(self) -> int:
        return self.hub.size_on_disk + sum(e.size for e in self.extras)

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.hub.warnings

    def revision(self, commit_hash: str) -> tuple[HubRepo, HubRevision] | None:
        for repo in self.hub.repos:
            for rev in repo.revisions:
                if rev.commit_hash == commit_hash:
                    return repo, rev
        return None

    def extra(self, key: str) -> ExtraEntry | None:
        return next((e for e in self.extras if e.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "locations": self.locations.to_dict(),
            "scanned_at": self.scanned_at,
            "hub": {
                "cache_dir": str(self.hub.cache_dir),
                "size_on_disk": self.hub.size_on_disk,
                "warnings": list(self.hub.warnings),
                "incomplete": [{"path": str(f.path), "size": f.size} for f in self.hub.incomplete],
                "repos": [_repo_dict(r) for r in self.hub.repos],
            },
            "extras": [
                {
                    "key": e.key,
                    "kind": e.kind,
                    "name": e.name,
                    "path": str(e.path),
                    "size": e.size,
                    "last_accessed": e.last_accessed,
                    "note": e.note,
                }
                for e in self.extras
            ],
            "total_size": self.total_size,
        }


def _repo_dict(repo: HubRepo) -> dict[str, Any]:
    return {
        "key": repo.key,
        "repo_type": repo.repo_type,
        "repo_id": repo.repo_id,
        "path": str(repo.path),
        "size": repo.size,
        "nb_files": repo.nb_files,
        "last_accessed": repo.last_accessed,
        "last_modified": repo.last_modified,
        "revisions": [
            {
                "commit_hash": rev.commit_hash,
                "refs": list(rev.refs),
                "detached": rev.detached,
                "size": rev.size,
                "nb_files": len(rev.files),
                "last_modified": rev.last_modified,
            }
            for rev in repo.revisions
        ],
    }


def scan_cache(locations: CacheLocations, progress: Progress = no_progress) -> CacheScan:
    """Scan the hub cache and its neighbours; progress is reported per repo and per folder."""
    hub = scan_hub_cache(locations.hub, progress)
    extras = scan_extras(locations.extra_roots(), locations.runs_dir, progress)
    for folder in hub.corrupted:
        # Broken downloads the hub cannot list or delete: offered as whole folders.
        size, accessed = tree_usage(folder)
        extras.append(
            ExtraEntry("corrupted", folder.name, folder, hub.cache_dir, size, accessed, "corrupted")
        )
    return CacheScan(locations=locations, hub=hub, extras=tuple(extras))


SORT_KEYS = ("size", "accessed", "name", "type")


def sort_repos(repos: Iterable[HubRepo], by: str) -> list[HubRepo]:
    if by == "size":
        return sorted(repos, key=lambda r: (-r.size, r.key))
    if by == "accessed":
        return sorted(repos, key=lambda r: (-r.last_accessed, r.key))
    if by == "type":
        return sorted(repos, key=lambda r: (r.repo_type, r.key))
    return sorted(repos, key=lambda r: r.key.split("/", 1)[1].lower())


@dataclass(frozen=True)
class Selection:
    """What a user picked: whole repos (by key), single revisions (by hash), other entries."""

    repos: frozenset[str] = frozenset()
    revisions: frozenset[str] = frozenset()
    extras: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.repos or self.revisions or self.extras)


def resolve_targets(scan: CacheScan, targets: Iterable[str]) -> Selection:
    """Turn CLI targets into a selection: ``model/org/name``, ``dataset/org/name``,
    a revision hash (or a unique prefix of 7+ characters), or an entry key such as
    ``datasets-cache/downloads`` or ``checkpoint/RUN/checkpoint-500``."""
    repos: set[str] = set()
    revisions: set[str] = set()
    extras: set[str] = set()
    for raw in targets:
        target = raw.strip().rstrip("/")
        if scan.hub.repo(target) is not None:
            repos.add(target)
            continue
        if scan.extra(target) is not None:
            extras.add(target)
            continue
        if HEX_RE.match(target):
            matches = [
                rev.commit_hash
                for repo in scan.hub.repos
                for rev in repo.revisions
                if rev.commit_hash.startswith(target)
            ]
            if len(matches) == 1:
                revisions.add(matches[0])
                continue
            if len(matches) > 1:
                raise CacheError(
                    f"revision {target!r} is ambiguous ({len(matches)} revisions start with it) "
                    "— give more of the hash"
                )
        hint = ""
        if looks_like_path(target):
            hint = " (a path: give a cache entry like model/ORG/NAME or a revision hash)"
        elif is_hub_id(target) and "/" in target:
            hint = f" (did you mean model/{target}?)"
        raise CacheError(
            f"no cache entry {target!r} in {scan.hub.cache_dir}{hint} — "
            "list them: magitui cache scan"
        )
    return Selection(frozenset(repos), frozenset(revisions), frozenset(extras))


def toggle_repo(selection: Selection, repo: HubRepo) -> Selection:
    """Select a whole repo (replacing any single revisions of it), or unselect it."""
    hashes = {rev.commit_hash for rev in repo.revisions}
    if is_repo_selected(selection, repo):
        return Selection(
            selection.repos - {repo.key}, selection.revisions - hashes, selection.extras
        )
    return Selection(selection.repos | {repo.key}, selection.revisions - hashes, selection.extras)


def toggle_revision(selection: Selection, repo: HubRepo, revision: HubRevision) -> Selection:
    """Select or unselect one revision; unselecting one of a selected repo keeps the others."""
    hashes = {rev.commit_hash for rev in repo.revisions}
    if repo.key in selection.repos:
        rest = hashes - {revision.commit_hash}
        return Selection(selection.repos - {repo.key}, selection.revisions | rest, selection.extras)
    chosen = selection.revisions ^ {revision.commit_hash}
    if hashes <= chosen:  # every revision picked one by one: that is the whole repo
        return Selection(selection.repos | {repo.key}, chosen - hashes, selection.extras)
    return Selection(selection.repos, chosen, selection.extras)


def toggle_extra(selection: Selection, key: str) -> Selection:
    return Selection(selection.repos, selection.revisions, selection.extras ^ {key})


def is_repo_selected(selection: Selection, repo: HubRepo) -> bool:
    return repo.key in selection.repos


def is_revision_selected(selection: Selection, repo: HubRepo, revision: HubRevision) -> bool:
    return repo.key in selection.repos or revision.commit_hash in selection.revisions


def prune_selection(selection: Selection, scan: CacheScan) -> Selection:
    """Drop what a rescan no longer finds, so nothing stale can be deleted."""
    hashes = {rev.commit_hash for repo in scan.hub.repos for rev in repo.revisions}
    return Selection(
        frozenset(k for k in selection.repos if scan.hub.repo(k) is not None),
        frozenset(h for h in selection.revisions if h in hashes),
        frozenset(k for k in selection.extras if scan.extra(k) is not None),
    )
