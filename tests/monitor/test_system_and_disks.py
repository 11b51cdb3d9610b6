"""System load and mounted partitions, with the folders magitui cares about placed on them."""

from __future__ import annotations

from pathlib import Path

import psutil

from magitui_core.cache.catalog import CacheLocations
from magitui_core.machine.disks import DiskInfo, default_roles, disk_warnings, mount_of, read_disks
from magitui_core.machine.system_stats import SystemSource
from magitui_core.workspace import Workspace


def test_system_snapshot_reads_this_machine() -> None:
    snapshot = SystemSource().read()
    assert len(snapshot.cpu_per_core) == psutil.cpu_count()
    assert all(0.0 <= p <= 100.0 for p in snapshot.cpu_per_core)
    assert 0 < snapshot.ram_used <= snapshot.ram_total
    assert 0.0 <= snapshot.ram_percent <= 100.0
    assert snapshot.swap_used <= snapshot.swap_total or snapshot.swap_total == 0
    assert len(snapshot.load_average) == 3
    assert snapshot.to_dict()["ram_total"] == snapshot.ram_total


def test_mount_of_picks_the_longest_prefix(tmp_path: Path) -> None:
    inside = tmp_path / "not" / "yet" / "created"
    mounts = ["/", str(tmp_path), str(tmp_path / "no")]
    assert mount_of(inside, mounts) == str(tmp_path)
    assert mount_of(Path("/etc"), mounts) == "/"


def test_roles_land_on_real_partitions(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws").ensure()
    locations = CacheLocations.from_env(env={"HF_HOME": str(tmp_path / "hf")})
    report = read_disks(default_roles(locations, workspace.root))
    holding = [disk for disk in report.disks if disk.roles]
    assert holding, report
    roles = {role for disk in holding for role in disk.roles}
    assert {"HF_HOME", "hub cache", "datasets cache", "workspace"} <= roles
    # Partitions with our data come first, and every listed one has a real size.
    assert report.disks[0].roles
    assert all(disk.total > 0 and disk.used + disk.free <= disk.total * 1.01 for disk in holding)
    assert report.to_dict()["disks"][0]["mountpoint"] == report.disks[0].mountpoint


def test_warnings_for_low_space_and_hf_home_on_nfs() -> None:
    gib = 1024**3
    low = DiskInfo("/dev/vda", "/", "ext4", 100 * gib, 98 * gib, 2 * gib, ("HF_HOME", "workspace"))
    nfs = DiskInfo(
        "nas:/data", "/mnt/nas", "nfs4", 10_000 * gib, 10 * gib, 9_990 * gib, ("HF_HOME",)
    )
    roomy = DiskInfo("/dev/vdb", "/data", "xfs", 1000 * gib, 10 * gib, 990 * gib, ("workspace",))
    spare = DiskInfo("/dev/vdc", "/spare", "xfs", 100 * gib, 99 * gib, 1 * gib)
    warnings = disk_warnings([low, nfs, roomy, spare])
    assert len(warnings) == 2
    assert warnings[0].startswith("/ (HF_HOME, workspace) has only 2.0GiB free")
    assert "HF_HOME is on nfs4 (/mnt/nas)" in warnings[1]
    assert low.is_low and not roomy.is_low and nfs.is_network
