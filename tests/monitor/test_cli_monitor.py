"""`magitui gpu` and `magitui cache` as a user runs them: real processes, a real cache."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cache_layout import Layout
from huggingface_hub import scan_cache_dir

from magitui_core.cache.hub_scan import scan_hub_cache
from tests.conftest import magitui_cmd


def magitui(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*magitui_cmd(), *args], input="", capture_output=True, text=True, timeout=timeout
    )


def in_terminal(args: list[str], answer: str, timeout: float = 30) -> tuple[int, str]:
    """Run with a pseudo-terminal as stdin/stdout and type ``answer`` at the prompt."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*magitui_cmd(), *args], stdin=follower, stdout=follower, stderr=follower
    )
    os.close(follower)
    output = b""
    sent = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not sent and b"[y/N]" in output:
            os.write(leader, answer.encode())
            sent = True
        if proc.poll() is not None and not ready:
            break
    proc.wait(timeout=10)
    os.close(leader)
    return proc.returncode, output.decode(errors="replace")


def test_gpu_without_a_driver(cache_env: Path) -> None:
    plain = magitui("gpu")
    assert plain.returncode == 0, plain.stderr
    as_json = json.loads(magitui("gpu", "--json").stdout)
    if as_json["available"]:
        pytest.skip("this machine has an NVIDIA GPU")
    assert plain.stdout.startswith("No NVIDIA GPU found")
    assert as_json["gpus"] == [] and as_json["message"].startswith("No NVIDIA GPU found")


def test_scan_json_matches_huggingface_hub(layout: Layout) -> None:
    result = magitui("cache", "scan", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    theirs = scan_cache_dir(layout.hub)
    assert data["hub"]["size_on_disk"] == theirs.size_on_disk
    assert {r["key"]: r["size"] for r in data["hub"]["repos"]} == {
        f"{r.repo_type}/{r.repo_id}": r.size_on_disk for r in theirs.repos
    }
    detached = [
        rev["commit_hash"]
        for repo in data["hub"]["repos"]
        for rev in repo["revisions"]
        if rev["detached"]
    ]
    assert sorted(detached) == sorted([layout.revs["alpha_old"], layout.revs["beta_old"]])
    assert "datasets-cache/downloads" in {e["key"] for e in data["extras"]}


def test_scan_table_sorted(layout: Layout) -> None:
    by_name = magitui("cache", "scan", "--sort", "name").stdout
    order = [
        line.split()[0] for line in by_name.splitlines() if line.startswith(("model/", "dataset/"))
    ]
    assert order == ["model/org/alpha", "model/org/beta", "dataset/org/data"]
    by_size = magitui("cache").stdout  # bare `cache` scans, biggest first
    order = [
        line.split()[0] for line in by_size.splitlines() if line.startswith(("model/", "dataset/"))
    ]
    sizes = {repo.key: repo.size for repo in scan_hub_cache(layout.hub).repos}
    assert [sizes[key] for key in order] == sorted(sizes.values(), reverse=True)
    assert "detached" in by_size
    bad = magitui("cache", "scan", "--sort", "colour")
    assert bad.returncode == 2 and "'colour' is not one of" in bad.stderr


def test_rm_dry_run_then_yes(layout: Layout) -> None:
    old = layout.revs["alpha_old"]
    dry = magitui("cache", "rm", old[:10], "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "12.0K" in dry.stdout and "would free 12.0K" in dry.stdout
    assert (layout.alpha.path / "snapshots" / old).exists()
    refused = magitui("cache", "rm", old)  # no terminal, no -y
    assert refused.returncode == 1 and "add -y" in refused.stderr
    assert (layout.alpha.path / "snapshots" / old).exists()
    done = magitui("cache", "rm", old, "-y")
    assert done.returncode == 0, done.stderr
    assert "freed 12.0K (expected 12.0K)" in done.stdout
    assert not (layout.alpha.path / "snapshots" / old).exists()


def test_rm_asks_and_defaults_to_no(layout: Layout) -> None:
    code, output = in_terminal(["cache", "rm", "dataset/org/data"], "\r")
    assert code == 1 and "Aborted" in output
    assert layout.data.path.exists()
    code, output = in_terminal(["cache", "rm", "model/org/beta"], "y\r")
    assert code == 0, output
    assert not layout.beta.path.exists()
    assert layout.outside_file.exists()


def test_rm_refuses_what_a_running_job_uses(layout: Layout, jobs) -> None:  # type: ignore[no-untyped-def]
    job = jobs.start(
        [sys.executable, "-c", "import time; time.sleep(60)", "--model", "org/beta"], kind="serve"
    )
    result = magitui("cache", "rm", "model/org/beta", "datasets-cache/downloads", "-y")
    assert result.returncode == 1
    assert f"in use by job {job.id}" in result.stdout
    assert "nothing deleted" in result.stderr
    assert layout.beta.path.exists()
    assert (layout.hf_home / "datasets" / "downloads").exists()


def test_rm_unknown_target_is_one_clear_line(layout: Layout) -> None:
    result = magitui("cache", "rm", "org/alpha", "-y")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: no cache entry 'org/alpha' in {layout.hub} (did you mean model/org/alpha?) "
        "— list them: magitui cache scan"
    ]
