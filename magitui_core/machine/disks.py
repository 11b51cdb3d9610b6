"""Mounted partitions with their space, and which of them hold magitui's data.

A role ("HF_HOME", "hub cache", "workspace", ...) is pinned to the partition
whose mount point is the longest prefix of that folder's real path, so a
folder that does not exist yet is placed by its nearest existing parent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

# Pseudo and virtual file systems carry no user data: never listed.
PSEUDO_FS = frozenset(
    {
        "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "pstore",
        "debugfs", "tracefs", "configfs", "fusectl", "mqueue", "hugetlbfs", "bpf", "autofs",
        "binfmt_misc", "rpc_pipefs", "nsfs", "efivarfs", "squashfs", "overlay_meta", "ramfs",
    }
)  # fmt: skip
NETWORK_FS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "lustre", "glusterfs", "ceph",
     "fuse.ceph", "beegfs", "gpfs", "9p", "fuse.gcsfuse", "fuse.s3fs", "fuse.rclone"}
)  # fmt: skip
LOW_FREE_BYTES = 20 * 1024**3  # a 7B model checkpoint alone is ~15 GB
LOW_FREE_FRACTION = 0.05


@dataclass(frozen=True)
class DiskInfo:
    device: str
    mountpoint: str
    fstype: str
    total: int
    used: int
    free: int
    roles: tuple[str, ...] = ()

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0

    @property
    def is_network(self) -> bool:
        return self.fstype.lower() in NETWORK_FS

    @property
    def is_low(self) -> bool:
        return self.total > 0 and (
            self.free < LOW_FREE_BYTES or self.free < LOW_FREE_FRACTION * self.total
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(percent=self.percent, network=self.is_network, low=self.is_low)
        return data


@dataclass(frozen=True)
class DiskReport:
    disks: tuple[DiskInfo, ...]
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"disks": [d.to_dict() for d in self.disks], "warnings": list(self.warnings)}


def _existing(path: Path) -> Path:
    """The path itself, or its nearest existing parent, resolved through symlinks."""
    path = path.expanduser().absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate.resolve()
    return Path("/")


def mount_of(path: Path, mountpoints: list[str]) -> str | None:
    """The mount point holding ``path``: the longest one that is a prefix of its real path."""
    real = _existing(path)
    best: str | None = None
    for mount in mountpoints:
        mount_path = Path(mount)
        if (real == mount_path or mount_path in real.parents) and (
            best is None or len(mount) > len(best)
        ):
            best = mount
    return best


def read_disks(roles: Mapping[str, Path]) -> DiskReport:
    """Partitions with data on them; ``roles`` maps a label to a folder whose partition to mark."""
    partitions = {}
    for part in psutil.disk_partitions(all=True):
        if part.fstype in PSEUDO_FS or part.mountpoint in partitions:
            continue
        if part.mountpoint.startswith(("/proc", "/sys", "/dev/pts")):
            continue
        partitions[part.mountpoint] = part
    mountpoints = list(partitions)
    role_mounts: dict[str, list[str]] = {}
    for role, folder in roles.items():
        mount = mount_of(folder, mountpoints)
        if mount is not None:
            role_mounts.setdefault(mount, []).append(role)
    disks = []
    for mount, part in partitions.items():
        try:
            usage = psutil.disk_usage(mount)
        except OSError:  # stale NFS handle, no permission: leave it out
            continue
        has_roles = mount in role_mounts
        # Tiny tmpfs/read-only helper mounts clutter the panel; keep any that hold our data.
        if not has_roles and (usage.total == 0 or (part.fstype == "tmpfs" and usage.total < 2**30)):
            continue
        disks.append(
            DiskInfo(
                device=part.device,
                mountpoint=mount,
                fstype=part.fstype,
                total=int(usage.total),
                used=int(usage.used),
                free=int(usage.free),
                roles=tuple(role_mounts.get(mount, ())),
            )
        )
    disks.sort(key=lambda d: (not d.roles, d.mountpoint))
    return DiskReport(disks=tuple(disks), warnings=tuple(disk_warnings(disks)))


def format_binary(num: float) -> str:
    """Memory and disk sizes in powers of 1024, as nvidia-smi, free and df -h count."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(num) < 1024.0:
            return f"{num:.0f}{unit}" if unit == "B" else f"{num:.1f}{unit}"
        num /= 1024.0
    return f"{num:.1f}TiB"


def disk_warnings(disks: list[DiskInfo]) -> list[str]:
    warnings = []
    for disk in disks:
        if not disk.roles:
            continue
        holds = ", ".join(disk.roles)
        if disk.is_low:
            warnings.append(
                f"{disk.mountpoint} ({holds}) has only {format_binary(disk.free)} free — "
                "free space in the HF cache or move HF_HOME to a bigger disk"
            )
        if disk.is_network and any(role.startswith("HF_HOME") for role in disk.roles):
            warnings.append(
                f"HF_HOME is on {disk.fstype} ({disk.mountpoint}) — loading models over the "
                "network is slow and file locks may misbehave; set HF_HOME to a local disk"
            )
    return warnings


def default_roles(locations: Any, workspace_root: Path) -> dict[str, Path]:
    """The folders whose partitions the disk panel highlights."""
    roles = {
        "HF_HOME": locations.hf_home,
        "hub cache": locations.hub,
        "datasets cache": locations.datasets,
        "workspace": workspace_root,
    }
    runs = workspace_root / "runs"
    if runs.is_dir():
        for run in sorted(runs.iterdir()):
            checkpoints = run / "checkpoints"
            # A symlinked checkpoints folder may live on another disk.
            if checkpoints.is_symlink() or (checkpoints.is_dir() and os.path.ismount(checkpoints)):
                roles[f"checkpoints of {run.name}"] = checkpoints
    return roles
