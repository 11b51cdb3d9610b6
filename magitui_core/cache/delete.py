"""Deleting from the caches: a plan first (what goes, what it frees, what is
refused and why), then the deletion, then a measurement of what really went.

Safety rules, checked here and nowhere else:
- every path removed lies inside the scanned root it was found in, checked on
  the real path of its parent folder; a symlink is unlinked, never followed, so
  a link out of the cache leaves its target alone;
- an entry a live magitui job uses is refused, naming the job;
- files other processes hold open are reported (their space comes back only
  when those processes exit).
Hub entries go through huggingface_hub's ``DeleteCacheStrategy``, filtered by
the same containment rule; its ``execute()`` only logs failures, so the freed
space is measured afterwards, never assumed.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from magitui_core.cache.catalog import CacheError, CacheScan, Selection, format_size, scan_cache
from magitui_core.cache.extras import ExtraEntry, tree_usage
from magitui_core.cache.hub_scan import HubRepo, HubRevision, Progress, no_progress
from magitui_core.cache.usage import (
    OpenFile,
    job_uses,
    jobs_holding_entry,
    jobs_holding_repo,
    jobs_holding_revision,
    open_files_under,
)


@dataclass(frozen=True)
class PlannedItem:
    key: str  # repo key, "<repo key>@<hash>" for one revision, or an entry key
    label: str
    kind: str  # repo, revision, or the entry kind (datasets, pip, checkpoint, ...)
    size: int  # bytes this item is expected to free
    path: Path
    detached: bool = False


@dataclass(frozen=True)
class Refusal:
    label: str
    reason: str


@dataclass
class DeletionPlan:
    scan: CacheScan
    items: list[PlannedItem] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    kept_outside: list[Path] = field(default_factory=list)
    open_files: list[OpenFile] = field(default_factory=list)
    hub_revisions: tuple[str, ...] = ()
    # What is measured after deleting: whole folders and single blob files, with their size.
    _folders: dict[Path, int] = field(default_factory=dict)
    _blobs: dict[Path, int] = field(default_factory=dict)
    _extras: list[ExtraEntry] = field(default_factory=list)

    @property
    def freed_bytes(self) -> int:
        return sum(item.size for item in self.items)

    @property
    def ok(self) -> bool:
        """True when nothing asked for is refused (a partial deletion is never done)."""
        return not self.refused

    def describe(self) -> list[str]:
        """One line per thing that goes, then what stays and why: the confirmation text."""
        lines = [f"{format_size(item.size):>8}  {item.label}" for item in self.items]
        lines += [f"  refused  {r.label}: {r.reason}" for r in self.refused]
        lines += [
            f"     kept  {p} (outside the cache; only the link goes)" for p in self.kept_outside
        ]
        lines += [
            f"     open  {f.path} is held by pid {f.pid} ({f.process}) — its space returns "
            "when that process exits"
            for f in self.open_files
        ]
        return lines


@dataclass
class DeletionResult:
    predicted: int
    freed: int
    failures: list[str]
    scan: CacheScan  # the rescan after deleting


def _inside(path: str | Path, root: Path) -> bool:
    """Lexical containment of normalised absolute paths (no symlink is followed)."""
    path = Path(os.path.abspath(path))
    root = Path(os.path.abspath(root))
    return root in path.parents


def check_inside(path: Path, root: Path) -> Path:
    """The path to remove, proven to lie strictly inside ``root``.

    The parent folder is resolved (a symlinked parent could lead anywhere); the
    last component is kept as is, so a symlink is removed as a link.
    """
    path = Path(os.path.abspath(path))
    if path.name in ("", ".", ".."):
        raise CacheError(f"refusing to delete {path}: not a named entry")
    real_root = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(path.parent)) / path.name
    if real_root not in candidate.parents:
        raise CacheError(f"refusing to delete {path}: it is not inside the scanned folder {root}")
    return candidate


def remove_entry(path: Path, root: Path) -> None:
    """Remove a file, a link (not its target) or a folder tree inside ``root``."""
    target = check_inside(path, root)
    if target.is_symlink() or not target.is_dir():
        target.unlink(missing_ok=True)
    else:
        shutil.rmtree(target)  # never follows symlinks inside the tree


def _hub_selection(scan: CacheScan, selection: Selection) -> dict[HubRepo, set[HubRevision]]:
    chosen: dict[HubRepo, set[HubRevision]] = {}
    for key in selection.repos:
        repo = scan.hub.repo(key)
        if repo is None:
            raise CacheError(f"no repo {key!r} in {scan.hub.cache_dir} — rescan and pick again")
        chosen.setdefault(repo, set()).update(repo.revisions)
    for commit in selection.revisions:
        found = scan.revision(commit)
        if found is None:
            raise CacheError(
                f"no revision {commit} in {scan.hub.cache_dir} — rescan and pick again"
            )
        chosen.setdefault(found[0], set()).add(found[1])
    return chosen


def plan_deletion(
    scan: CacheScan,
    selection: Selection,
    jobs: Iterable[object] = (),
    check_open_files: bool = True,
) -> DeletionPlan:
    """Work out what deleting ``selection`` removes and frees, and what is refused."""
    plan = DeletionPlan(scan=scan)
    uses = job_uses(jobs)
    hashes: list[str] = []
    for repo, revisions in sorted(
        _hub_selection(scan, selection).items(), key=lambda kv: kv[0].key
    ):
        if revisions == set(repo.revisions):
            holders = jobs_holding_repo(repo, uses)
            if holders:
                plan.refused.append(Refusal(repo.key, "in use by " + ", ".join(holders)))
                continue
            _plan_whole_repo(plan, repo)
            hashes += [rev.commit_hash for rev in repo.revisions]
            continue
        allowed = set()
        for rev in sorted(revisions, key=lambda r: r.commit_hash):
            holders = jobs_holding_revision(repo, rev, uses)
            if holders:
                label = f"{repo.key} revision {rev.commit_hash[:12]}"
                plan.refused.append(Refusal(label, "in use by " + ", ".join(holders)))
            else:
                allowed.add(rev)
        if allowed:
            _plan_revisions(plan, repo, allowed)
            hashes += sorted(rev.commit_hash for rev in allowed)
    plan.hub_revisions = tuple(hashes)
    for key in sorted(selection.extras):
        entry = scan.extra(key)
        if entry is None:
            raise CacheError(f"no cache entry {key!r} — rescan and pick again")
        holders = jobs_holding_entry(entry, uses)
        if holders:
            plan.refused.append(Refusal(entry.key, "in use by " + ", ".join(holders)))
            continue
        check_inside(entry.path, entry.root)
        plan._extras.append(entry)
        plan._folders[entry.path] = entry.size
        label = f"{entry.kind}: {entry.name}" + (f" ({entry.note})" if entry.note else "")
        plan.items.append(PlannedItem(entry.key, label, entry.kind, entry.size, entry.path))
    if check_open_files and plan.items:
        plan.open_files = open_files_under(plan._blobs, plan._folders)
    return plan


def _plan_whole_repo(plan: DeletionPlan, repo: HubRepo) -> None:
    check_inside(repo.path, plan.scan.hub.cache_dir)
    # The whole folder goes (orphan blobs and .incomplete files too); links out of it do not.
    size, _ = tree_usage(repo.path)
    plan._folders[repo.path] = size
    for rev in repo.revisions:
        for cached in rev.files:
            blob = Path(cached.blob_path)
            if not _inside(blob, repo.path) and blob not in plan.kept_outside:
                plan.kept_outside.append(blob)
    revs = len(repo.revisions)
    label = f"{repo.key} (whole repo, {revs} revision{'s' if revs != 1 else ''})"
    plan.items.append(PlannedItem(repo.key, label, "repo", size, repo.path))


def _freed_blobs(
    repo: HubRepo, revisions: set[HubRevision]
) -> tuple[dict[str, dict[Path, int]], list[Path]]:
    """Blobs that deleting ``revisions`` (not all of the repo's) frees, per revision,
    and the link targets outside the repo that stay."""
    remaining = {f.blob_path for rev in repo.revisions if rev not in revisions for f in rev.files}
    counted: set[str] = set()
    per_revision: dict[str, dict[Path, int]] = {}
    outside: list[Path] = []
    for rev in sorted(revisions, key=lambda r: r.commit_hash):
        blobs = per_revision.setdefault(rev.commit_hash, {})
        for cached in rev.files:
            blob = cached.blob_path
            if blob in remaining or blob in counted:
                continue
            if not _inside(blob, repo.path):
                # Only the snapshot's link goes; whatever it points at outside stays.
                if Path(blob) not in outside:
                    outside.append(Path(blob))
                continue
            counted.add(blob)
            blobs[Path(blob)] = cached.size
    return per_revision, outside


def estimate_freed(scan: CacheScan, selection: Selection) -> int:
    """What deleting ``selection`` frees, from the scan alone (no disk access): the live
    total while a user picks rows. The plan measures the folders for the exact figure."""
    total = 0
    for repo, revisions in _hub_selection(scan, selection).items():
        if revisions == set(repo.revisions):
            blobs = {
                f.blob_path: f.size
                for rev in repo.revisions
                for f in rev.files
                if _inside(f.blob_path, repo.path)
            }
            total += sum(blobs.values())
            total += sum(f.size for f in scan.hub.incomplete if _inside(f.path, repo.path))
        else:
            per_revision, _ = _freed_blobs(repo, revisions)
            total += sum(sum(blobs.values()) for blobs in per_revision.values())
    for key in selection.extras:
        entry = scan.extra(key)
        total += entry.size if entry is not None else 0
    return total


def _plan_revisions(plan: DeletionPlan, repo: HubRepo, revisions: set[HubRevision]) -> None:
    per_revision, outside = _freed_blobs(repo, revisions)
    plan.kept_outside += [path for path in outside if path not in plan.kept_outside]
    for rev in sorted(revisions, key=lambda r: r.commit_hash):
        blobs = {
            # A blob that is itself a link (a shared store) frees nothing when unlinked here.
            blob: size
            for blob, size in per_revision[rev.commit_hash].items()
            if not os.path.islink(blob)
        }
        plan._blobs.update(blobs)
        refs = ", ".join(rev.refs) if rev.refs else "detached"
        label = f"{repo.key} revision {rev.commit_hash[:12]} ({refs})"
        plan.items.append(
            PlannedItem(
                f"{repo.key}@{rev.commit_hash}",
                label,
                "revision",
                sum(blobs.values()),
                rev.snapshot_path,
                detached=rev.detached,
            )
        )


def _safe_strategy(plan: DeletionPlan) -> object | None:
    """huggingface_hub's strategy for the planned revisions, minus any path outside
    the cache (``delete_revisions`` would unlink a snapshot link's outside target)."""
    if not plan.hub_revisions:
        return None
    from huggingface_hub import scan_cache_dir

    cache_dir = plan.scan.hub.cache_dir
    strategy = scan_cache_dir(cache_dir).delete_revisions(*plan.hub_revisions)

    def keep(paths: frozenset[Path]) -> frozenset[Path]:
        kept = set()
        for path in paths:
            try:
                check_inside(path, cache_dir)
            except CacheError:
                continue
            # A blob must also lie in its own repo folder, not just somewhere in the cache.
            repo_dir = cache_dir / Path(os.path.relpath(os.path.abspath(path), cache_dir)).parts[0]
            if path != repo_dir and not _inside(path, repo_dir):
                continue
            kept.add(path)
        return frozenset(kept)

    return dataclasses.replace(
        strategy,
        blobs=keep(strategy.blobs),
        refs=keep(strategy.refs),
        repos=keep(strategy.repos),
        snapshots=keep(strategy.snapshots),
        files=keep(strategy.files),
    )


def execute_plan(plan: DeletionPlan, progress: Progress = no_progress) -> DeletionResult:
    """Delete what the plan lists (refused plans delete nothing), then measure and rescan."""
    if not plan.ok:
        reasons = "; ".join(f"{r.label}: {r.reason}" for r in plan.refused)
        raise CacheError(f"nothing deleted — {reasons}. Stop the job first, then try again")
    failures: list[str] = []
    steps = (1 if plan.hub_revisions else 0) + len(plan._extras)
    done = 0
    strategy = _safe_strategy(plan)
    if strategy is not None:
        progress("deleting hub entries", done, steps)
        strategy.execute()  # type: ignore[attr-defined]
        done += 1
    for entry in plan._extras:
        progress(f"deleting {entry.key}", done, steps)
        try:
            remove_entry(entry.path, entry.root)
        except OSError as exc:
            failures.append(f"{entry.path}: {exc.strerror or exc}")
        done += 1
    progress("measuring", steps, steps)
    freed = 0
    for folder, before in plan._folders.items():
        after, _ = tree_usage(folder)
        freed += max(0, before - after)
        if after:
            failures.append(f"{folder}: {format_size(after)} could not be removed")
    for blob, size in plan._blobs.items():
        if os.path.lexists(blob):
            failures.append(f"{blob}: could not be removed")
        else:
            freed += size
    rescan = scan_cache(plan.scan.locations, progress)
    return DeletionResult(predicted=plan.freed_bytes, freed=freed, failures=failures, scan=rescan)
