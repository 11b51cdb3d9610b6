"""Deleting from the caches: exactly what was planned goes, nothing outside the scanned
roots is touched, entries in use by running jobs are refused, open files are flagged."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from cache_layout import Layout
from huggingface_hub import scan_cache_dir

from magitui_core.cache.catalog import CacheError, CacheLocations, resolve_targets, scan_cache
from magitui_core.cache.delete import check_inside, execute_plan, plan_deletion, remove_entry


def _scan():  # type: ignore[no-untyped-def]
    return scan_cache(CacheLocations.from_env())


def _plan(targets: list[str], jobs=(), check_open_files: bool = False):  # type: ignore[no-untyped-def]
    scan = _scan()
    return plan_deletion(scan, resolve_targets(scan, targets), jobs, check_open_files)


def _all_files_resolve(snapshot: Path) -> bool:
    return all(path.exists() for path in snapshot.rglob("*"))


def test_deleting_a_detached_revision_frees_the_predicted_bytes(layout: Layout) -> None:
    old, main = layout.revs["alpha_old"], layout.revs["alpha_main"]
    before = scan_cache_dir(layout.hub).size_on_disk
    plan = _plan([old])
    [item] = plan.items
    assert item.kind == "revision" and item.detached
    # Only the weights unique to the old revision go; the shared config blob stays.
    assert plan.freed_bytes == 12_000
    result = execute_plan(plan)
    assert result.failures == []
    assert result.freed == plan.freed_bytes
    assert before - scan_cache_dir(layout.hub).size_on_disk == plan.freed_bytes
    assert result.scan.hub.size_on_disk == before - plan.freed_bytes
    assert not (layout.alpha.path / "snapshots" / old).exists()
    assert _all_files_resolve(layout.alpha.path / "snapshots" / main)


def test_a_link_out_of_the_cache_keeps_its_target(layout: Layout) -> None:
    old = layout.revs["beta_old"]
    # huggingface_hub alone would unlink the outside file: it takes the link's target as a blob.
    raw = scan_cache_dir(layout.hub).delete_revisions(old)
    assert layout.outside_file in raw.blobs
    plan = _plan([old])
    assert plan.kept_outside == [layout.outside_file]
    assert plan.freed_bytes == 9_000
    assert any("outside the cache" in line for line in plan.describe())
    result = execute_plan(plan)
    assert result.freed == 9_000 and result.failures == []
    assert layout.outside_file.read_bytes() == b"o" * 5000
    assert not (layout.beta.path / "snapshots" / old).exists()


def test_deleting_a_whole_repo_takes_its_unfinished_downloads(layout: Layout) -> None:
    plan = _plan(["model/org/alpha"])
    [item] = plan.items
    assert item.kind == "repo"
    # Both revisions' blobs (the shared config once), the .incomplete file and refs/main.
    config = len(b'{"model_type": "llama"}' * 5)
    expected = 20_000 + 12_000 + config + 777 + len(layout.revs["alpha_main"])
    assert plan.freed_bytes == expected
    result = execute_plan(plan)
    assert result.freed == expected
    assert not layout.alpha.path.exists()
    assert result.scan.hub.repo("model/org/alpha") is None
    assert result.scan.hub.repo("model/org/beta") is not None


def test_whole_repo_with_an_outside_link_leaves_the_target(layout: Layout) -> None:
    result = execute_plan(_plan(["model/org/beta"]))
    assert not layout.beta.path.exists()
    assert result.failures == []
    assert layout.outside_file.read_bytes() == b"o" * 5000


def test_other_cache_entries_and_symlinked_entries(layout: Layout, cache_env: Path) -> None:
    elsewhere = cache_env / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.whl").write_bytes(b"k" * 100)
    pip = cache_env / "pip"
    pip.mkdir()
    (pip / "wheels").symlink_to(elsewhere)
    plan = _plan(["datasets-cache/downloads", "pip/wheels", "corrupted/models--org--broken"])
    result = execute_plan(plan)
    assert result.failures == []
    assert not (layout.hf_home / "datasets" / "downloads").exists()
    assert (layout.hf_home / "datasets" / "org___data").exists()
    assert not (pip / "wheels").is_symlink()
    assert (elsewhere / "keep.whl").read_bytes() == b"k" * 100
    assert not (layout.hub / "models--org--broken").exists()


def test_containment_is_checked_on_real_paths(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "victim").write_text("x")
    (root / "door").symlink_to(outside)
    with pytest.raises(CacheError, match="not inside the scanned folder"):
        check_inside(root / "door" / "victim", root)
    with pytest.raises(CacheError, match="not inside"):
        check_inside(root / ".." / "outside" / "victim", root)
    with pytest.raises(CacheError):
        remove_entry(root, root)
    remove_entry(root / "door", root)  # the link itself lies inside: only it goes
    assert (outside / "victim").read_text() == "x"


def test_a_model_used_by_a_running_job_is_refused(layout: Layout, jobs) -> None:  # type: ignore[no-untyped-def]
    job = jobs.start(
        [sys.executable, "-c", "import time; time.sleep(60)", "--model_name_or_path", "org/alpha"],
        kind="train",
        name="train alpha",
    )
    live = jobs.list_jobs()
    plan = _plan(["model/org/alpha"], live)
    assert plan.items == []
    [refusal] = plan.refused
    assert job.id in refusal.reason and "train" in refusal.reason
    with pytest.raises(CacheError, match=job.id):
        execute_plan(plan)
    assert layout.alpha.path.exists()
    # The job loads what refs/main names: the main revision is pinned, the detached one is not.
    assert _plan([layout.revs["alpha_main"]], live).refused
    detached = _plan([layout.revs["alpha_old"]], live)
    assert detached.ok and len(detached.items) == 1


def test_a_snapshot_path_in_a_job_pins_that_revision(layout: Layout, jobs) -> None:  # type: ignore[no-untyped-def]
    snapshot = layout.alpha.path / "snapshots" / layout.revs["alpha_old"]
    job = jobs.start(
        [sys.executable, "-c", "import time; time.sleep(60)", f"--model={snapshot}"], kind="serve"
    )
    live = jobs.list_jobs()
    plan = _plan([layout.revs["alpha_old"]], live)
    assert [r.label for r in plan.refused] == [
        f"model/org/alpha revision {layout.revs['alpha_old'][:12]}"
    ]
    assert job.id in plan.refused[0].reason
    assert _plan([layout.revs["alpha_main"]], live).ok
    assert _plan(["datasets-cache/downloads"], live).ok


def test_old_checkpoints_of_a_running_training_are_refused(cache_env: Path, jobs) -> None:  # type: ignore[no-untyped-def]
    run = jobs.workspace.create_run("r1")
    for step in (10, 20):
        (run.path / "checkpoints" / f"checkpoint-{step}").mkdir(parents=True)
    out = run.path / "checkpoints"
    jobs.start(
        [sys.executable, "-c", "import time; time.sleep(60)", "--output_dir", str(out)],
        kind="train",
        run="r1",
    )
    scan = scan_cache(CacheLocations.from_env(runs_dir=jobs.workspace.runs_dir))
    plan = plan_deletion(
        scan, resolve_targets(scan, ["checkpoint/r1/checkpoint-10"]), jobs.list_jobs()
    )
    assert not plan.ok and "in use by job" in plan.refused[0].reason


def test_files_held_open_are_flagged(layout: Layout) -> None:
    blob = next(p for p in (layout.alpha.path / "blobs").iterdir() if p.stat().st_size == 12_000)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"f = open({str(blob)!r}, 'rb'); print('ready', flush=True); "
            "import time; time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        plan = _plan([layout.revs["alpha_old"]], check_open_files=True)
        assert [(f.path, f.pid) for f in plan.open_files] == [(blob, holder.pid)]
        assert any(f"pid {holder.pid}" in line for line in plan.describe())
        whole = _plan(["model/org/alpha"], check_open_files=True)
        assert holder.pid in {f.pid for f in whole.open_files}
    finally:
        holder.kill()
        holder.wait()
    assert _plan([layout.revs["alpha_old"]], check_open_files=True).open_files == []


def test_a_stale_plan_measures_what_really_went(layout: Layout) -> None:
    plan = _plan(["datasets-cache/downloads"])
    (layout.hf_home / "datasets" / "downloads" / "late.bin").write_bytes(b"l" * 10)
    started = time.time()
    result = execute_plan(plan)
    assert result.scan.scanned_at >= started
    assert result.freed == plan.freed_bytes  # measured on the folder's planned size
