"""Scanning the Hugging Face hub cache with ``os.scandir``.

The walk follows huggingface_hub's ``scan_cache_dir`` rule for rule (same
repos, revisions, refs, sizes, corrupted-repo warnings and total), but with
one ``stat`` per snapshot entry instead of four, and it reports progress. When
the cache uses huggingface_hub's shared blob store, whose accounting is the
library's own business, the library's scan is used instead.
"""

from __future__ import annotations

import os
import stat
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

# Mirrors huggingface_hub.utils._cache_manager: names skipped everywhere.
FILES_TO_IGNORE = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space", "kernels": "kernel"}

Progress = Callable[[str, int, int], None]  # (what, done, total)


def no_progress(what: str, done: int, total: int) -> None:
    return None


class CorruptedRepo(Exception):
    """A repo folder the hub's own scan would also refuse (reported, never fatal)."""


# One snapshot entry: (file_path, blob_path, size). A big cache has 100k of these, kept
# as plain tuples of str and int, which the garbage collector stops tracking the first
# time it sees them; Paths or named tuples stay tracked, and each full pass of the
# collector over them stalls whichever thread triggers it (the UI's too) for 100 ms+.
FileRow = tuple[str, str, int]


class CachedFile(NamedTuple):
    """One snapshot entry, as ``HubRevision.files`` hands it out."""

    file_path: str  # the entry inside snapshots/<rev>/
    blob_path: str  # first symlink hop, as huggingface_hub records it
    size: int


@dataclass(frozen=True)
class HubRevision:
    commit_hash: str
    refs: tuple[str, ...]
    snapshot_path: Path
    file_rows: tuple[FileRow, ...]
    size: int
    last_modified: float

    @property
    def files(self) -> tuple[CachedFile, ...]:
        return tuple(map(CachedFile._make, self.file_rows))

    @property
    def detached(self) -> bool:
        """No branch or tag points here: an older download nobody asks for by name."""
        return not self.refs


@dataclass(frozen=True)
class HubRepo:
    repo_type: str  # model, dataset, space
    repo_id: str
    path: Path
    revisions: tuple[HubRevision, ...]
    size: int
    nb_files: int
    last_accessed: float
    last_modified: float

    @property
    def key(self) -> str:
        return f"{self.repo_type}/{self.repo_id}"

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(sorted(ref for rev in self.revisions for ref in rev.refs))


@dataclass(frozen=True)
class IncompleteFile:
    path: Path
    size: int


@dataclass
class HubScan:
    cache_dir: Path
    repos: tuple[HubRepo, ...] = ()
    size_on_disk: int = 0
    incomplete: tuple[IncompleteFile, ...] = ()
    warnings: tuple[str, ...] = ()
    exists: bool = True
    corrupted: tuple[Path, ...] = ()  # repo folders the scan refused (deletable as a whole)

    def repo(self, key: str) -> HubRepo | None:
        return next((repo for repo in self.repos if repo.key == key), None)


@dataclass
class _Stats:
    """stat results per blob path, shared by a repo's revisions (like the hub's blob_stats)."""

    by_blob: dict[str, os.stat_result] = field(default_factory=dict)


def _read_refs(refs_path: Path) -> dict[str, set[str]]:
    refs_by_hash: dict[str, set[str]] = defaultdict(set)
    if not os.path.lexists(refs_path) or not refs_path.exists():
        return refs_by_hash
    if not refs_path.is_dir():
        raise CorruptedRepo(f"Refs directory cannot be a file: {refs_path}")
    for dirpath, _dirnames, filenames in os.walk(refs_path):
        for name in filenames:
            if name in FILES_TO_IGNORE:
                continue
            ref_path = Path(dirpath, name)
            if ref_path.is_dir():  # a symlink to a folder, as the hub's glob sees it
                continue
            with ref_path.open() as handle:
                refs_by_hash[handle.read()].add(ref_path.relative_to(refs_path).as_posix())
    return refs_by_hash


def _walk_revision(folder: str, stats: _Stats, files: list[FileRow]) -> None:
    """Every non-folder entry under a snapshot, recursing into real folders only
    (pathlib's ``**`` in Python < 3.13 does not descend into symlinked folders)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_symlink():
                target = os.path.abspath(os.path.join(folder, os.readlink(entry.path)))
                try:
                    # One stat through the whole link chain: same as the hub's blob_path.stat().
                    st = stats.by_blob.get(target) or os.stat(entry.path)
                except OSError:
                    raise CorruptedRepo(f"Blob missing (broken symlink): {target}") from None
                if stat.S_ISDIR(st.st_mode):
                    continue
                stats.by_blob.setdefault(target, st)
                files.append((entry.path, target, st.st_size))
            elif entry.is_dir(follow_symlinks=False):
                _walk_revision(entry.path, stats, files)
            else:
                st = stats.by_blob.get(entry.path) or entry.stat()
                stats.by_blob.setdefault(entry.path, st)
                files.append((entry.path, entry.path, st.st_size))


def scan_repo(repo_path: Path) -> HubRepo:
    if not repo_path.is_dir():
        raise CorruptedRepo(f"Repo path is not a directory: {repo_path}")
    if "--" not in repo_path.name:
        raise CorruptedRepo(f"Repo path is not a valid HuggingFace cache directory: {repo_path}")
    prefix, repo_id = repo_path.name.split("--", maxsplit=1)
    repo_id = repo_id.replace("--", "/")
    if prefix not in REPO_TYPES:
        raise CorruptedRepo(
            f"Repo type must be one of {sorted(REPO_TYPES)}, found `{prefix}` ({repo_path})."
        )
    snapshots = repo_path / "snapshots"
    if not snapshots.is_dir():
        raise CorruptedRepo(f"Snapshots dir doesn't exist in cached repo: {snapshots}")
    refs_by_hash = _read_refs(repo_path / "refs")
    stats = _Stats()
    revisions = []
    with os.scandir(snapshots) as entries:
        rev_entries = [e for e in entries if e.name not in FILES_TO_IGNORE]
    for entry in rev_entries:
        if entry.is_file():
            raise CorruptedRepo(f"Snapshots folder corrupted. Found a file: {entry.path}")
        files: list[FileRow] = []
        if entry.is_dir():
            _walk_revision(entry.path, stats, files)
        blobs = {blob for _, blob, _ in files}
        if files:
            last_modified = max(stats.by_blob[b].st_mtime for b in blobs)
        else:
            last_modified = os.stat(entry.path).st_mtime
        revisions.append(
            HubRevision(
                commit_hash=entry.name,
                refs=tuple(sorted(refs_by_hash.pop(entry.name, set()))),
                snapshot_path=Path(entry.path),
                file_rows=tuple(sorted(files)),
                size=sum(stats.by_blob[b].st_size for b in blobs),
                last_modified=last_modified,
            )
        )
    if refs_by_hash:
        raise CorruptedRepo(
            f"Reference(s) refer to missing commit hashes: {dict(refs_by_hash)} ({repo_path})."
        )
    if stats.by_blob:
        last_accessed = max(s.st_atime for s in stats.by_blob.values())
        last_modified = max(s.st_mtime for s in stats.by_blob.values())
    else:
        own = repo_path.stat()
        last_accessed, last_modified = own.st_atime, own.st_mtime
    revisions.sort(key=lambda r: (r.detached, -r.last_modified, r.commit_hash))
    return HubRepo(
        repo_type=REPO_TYPES[prefix],
        repo_id=repo_id,
        path=repo_path,
        revisions=tuple(revisions),
        size=sum(s.st_size for s in stats.by_blob.values()),
        nb_files=len(stats.by_blob),
        last_accessed=last_accessed,
        last_modified=last_modified,
    )


def _incomplete_files(repo_dirs: list[Path]) -> tuple[IncompleteFile, ...]:
    found = []
    for repo_dir in repo_dirs:
        try:
            with os.scandir(repo_dir / "blobs") as entries:
                for entry in entries:
                    if entry.name.endswith(".incomplete"):
                        try:
                            found.append(IncompleteFile(Path(entry.path), entry.stat().st_size))
                        except OSError:
                            continue
        except OSError:
            continue
    return tuple(sorted(found, key=lambda f: str(f.path)))


def _scan_repos(
    candidates: list[Path],
    repos: list[HubRepo],
    warnings: list[str],
    corrupted: list[Path],
    progress: Progress,
) -> None:
    for done, repo_path in enumerate(candidates, start=1):
        try:
            repos.append(scan_repo(repo_path))
        except CorruptedRepo as exc:
            warnings.append(str(exc))
            if repo_path.is_dir() and not repo_path.is_symlink():
                corrupted.append(repo_path)
        except OSError as exc:  # a folder vanished or is unreadable mid-scan
            warnings.append(f"{repo_path}: {exc.strerror or exc}")
        progress("hub cache", done, len(candidates))


def _uses_shared_store(cache_dir: Path) -> bool:
    try:
        from huggingface_hub.utils import _shared_blobs
    except ImportError:  # older huggingface_hub: no shared store exists
        return False
    return _shared_blobs.is_shared_blobs_dir(_shared_blobs.shared_blobs_dir(cache_dir))


def scan_hub_cache(cache_dir: Path, progress: Progress = no_progress) -> HubScan:
    """Scan a hub cache folder (``$HF_HOME/hub``); a missing folder is an empty cache."""
    cache_dir = Path(cache_dir).expanduser().resolve()
    if not cache_dir.exists():
        return HubScan(cache_dir=cache_dir, exists=False)
    if not cache_dir.is_dir():
        return HubScan(
            cache_dir=cache_dir,
            exists=False,
            warnings=(f"hub cache {cache_dir} is a file, not a folder — set HF_HUB_CACHE",),
        )
    if _uses_shared_store(cache_dir):
        return from_hub_library(cache_dir)
    with os.scandir(cache_dir) as entries:
        names = sorted(e.name for e in entries)
    candidates = [
        cache_dir / name
        for name in names
        # version.txt is huggingface_hub's own marker file: the hub scan warns about it, we do not.
        if name not in FILES_TO_IGNORE and name not in (".locks", "CACHEDIR.TAG", "version.txt")
    ]
    repos: list[HubRepo] = []
    warnings: list[str] = []
    corrupted: list[Path] = []
    progress("hub cache", 0, len(candidates))
    # The collector keeps running through the walk: its young passes stay small and
    # untrack the FileRow tuples as they go. Paused, it would leave one young generation
    # of the whole walk for its next pass, a 40 ms+ stall on whichever thread runs it.
    _scan_repos(candidates, repos, warnings, corrupted, progress)
    blob_sizes: dict[str, int] = {}
    for repo in repos:
        for revision in repo.revisions:
            for _, blob, size in revision.file_rows:
                blob_sizes[blob] = size
    return HubScan(
        cache_dir=cache_dir,
        repos=tuple(sorted(repos, key=lambda r: r.key)),
        size_on_disk=sum(blob_sizes.values()),
        incomplete=_incomplete_files([p for p in candidates if p.is_dir()]),
        warnings=tuple(warnings),
        corrupted=tuple(corrupted),
    )


def from_hub_library(cache_dir: Path) -> HubScan:
    """The same result through huggingface_hub's own ``scan_cache_dir``."""
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(cache_dir)
    repos = []
    for repo in info.repos:
        revisions = [
            HubRevision(
                commit_hash=rev.commit_hash,
                refs=tuple(sorted(rev.refs)),
                snapshot_path=rev.snapshot_path,
                file_rows=tuple(
                    sorted((str(f.file_path), str(f.blob_path), f.size_on_disk) for f in rev.files)
                ),
                size=rev.size_on_disk,
                last_modified=rev.last_modified,
            )
            for rev in repo.revisions
        ]
        revisions.sort(key=lambda r: (r.detached, -r.last_modified, r.commit_hash))
        repos.append(
            HubRepo(
                repo_type=repo.repo_type,
                repo_id=repo.repo_id,
                path=repo.repo_path,
                revisions=tuple(revisions),
                size=repo.size_on_disk,
                nb_files=repo.nb_files,
                last_accessed=repo.last_accessed,
                last_modified=repo.last_modified,
            )
        )
    return HubScan(
        cache_dir=info.cache_dir or cache_dir,
        repos=tuple(sorted(repos, key=lambda r: r.key)),
        size_on_disk=info.size_on_disk,
        incomplete=tuple(
            sorted(
                (IncompleteFile(f.file_path, f.size_on_disk) for f in info.incomplete_files),
                key=lambda f: str(f.path),
            )
        ),
        warnings=tuple(str(w) for w in info.warnings),
    )
