"""What the hub scan ignores but fills disks just as well: the datasets cache,
the xet cache, compiled torch extensions, pip's cache and old checkpoints.

Each top-level item of such a folder is one entry; sizes count regular files
once per inode and never follow symlinks, so a link out of the folder adds
nothing and deleting the entry removes only the link.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from magitui_core.cache.hub_scan import Progress, no_progress

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


@dataclass(frozen=True)
class ExtraEntry:
    kind: str  # datasets-cache, xet, torch-ext, pip, checkpoint, corrupted
    name: str
    path: Path
    root: Path  # the scanned folder it lies in; removal never leaves it
    size: int
    last_accessed: float
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class ExtraRoot:
    kind: str
    path: Path
    label: str


def tree_usage(path: Path) -> tuple[int, float]:
    """(bytes, newest access time) under ``path``, without following symlinks."""
    seen: set[tuple[int, int]] = set()
    total = 0
    newest = 0.0
    stack = [str(path)]
    try:
        top = os.lstat(path)
    except OSError:
        return 0, 0.0
    if not stat.S_ISDIR(top.st_mode):
        return (top.st_size if stat.S_ISREG(top.st_mode) else 0), top.st_atime
    newest = top.st_atime
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(entry.path)
                    elif stat.S_ISREG(st.st_mode):
                        inode = (st.st_dev, st.st_ino)
                        if inode in seen:  # hard links (datasets' extracted files) count once
                            continue
                        seen.add(inode)
                        total += st.st_size
                        newest = max(newest, st.st_atime)
        except OSError:
            continue
    return total, newest


def scan_root(root: ExtraRoot) -> list[ExtraEntry]:
    """One entry per top-level item of a cache folder (a missing folder has none)."""
    try:
        with os.scandir(root.path) as entries:
            names = sorted(e.name for e in entries)
    except OSError:
        return []
    found = []
    for name in names:
        if name in (".lock", "CACHEDIR.TAG"):
            continue
        path = root.path / name
        size, accessed = tree_usage(path)
        note = "symlink (only the link goes)" if path.is_symlink() else ""
        found.append(ExtraEntry(root.kind, name, path, root.path, size, accessed, note))
    return found


def old_checkpoints(runs_dir: Path) -> list[ExtraEntry]:
    """``checkpoint-N`` folders of magitui runs, except the newest in each output folder."""
    found: list[ExtraEntry] = []
    if not runs_dir.is_dir():
        return found
    for run in sorted(runs_dir.iterdir()):
        checkpoints = run / "checkpoints"
        if not checkpoints.is_dir():
            continue
        by_parent: dict[str, list[tuple[int, str]]] = {}
        for dirpath, dirnames, _files in os.walk(checkpoints):
            for name in list(dirnames):
                match = CHECKPOINT_RE.match(name)
                if match:
                    by_parent.setdefault(dirpath, []).append((int(match.group(1)), name))
                    dirnames.remove(name)  # no checkpoints inside checkpoints
        for parent, steps in sorted(by_parent.items()):
            steps.sort()
            for _step, name in steps[:-1]:  # keep the newest: it is the one to resume from
                path = Path(parent) / name
                size, accessed = tree_usage(path)
                rel = path.relative_to(checkpoints).as_posix()
                found.append(
                    ExtraEntry(
                        "checkpoint",
                        f"{run.name}/{rel}",
                        path,
                        checkpoints,
                        size,
                        accessed,
                        note=f"newer: {steps[-1][1]}",
                    )
                )
    return found


def scan_extras(
    roots: list[ExtraRoot], runs_dir: Path | None, progress: Progress = no_progress
) -> list[ExtraEntry]:
    entries: list[ExtraEntry] = []
    total = len(roots) + (1 if runs_dir else 0)
    for done, root in enumerate(roots, start=1):
        entries.extend(scan_root(root))
        progress(root.label, done, total)
    if runs_dir is not None:
        entries.extend(old_checkpoints(runs_dir))
        progress("old checkpoints", total, total)
    return entries
