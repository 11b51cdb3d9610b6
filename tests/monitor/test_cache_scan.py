"""The hub scan matches huggingface_hub's on real layouts; the other caches are found."""

from __future__ import annotations

import gc
import os
import random
from pathlib import Path

import pytest
from cache_layout import Layout, RepoBuilder, build_layout
from huggingface_hub import scan_cache_dir

from magitui_core.cache.catalog import (
    CacheError,
    CacheLocations,
    format_size,
    resolve_targets,
    scan_cache,
    sort_repos,
)
from magitui_core.cache.hub_scan import scan_hub_cache
from magitui_core.workspace import Workspace


def _hub_view(info):  # type: ignore[no-untyped-def]
    return {
        f"{repo.repo_type}/{repo.repo_id}": (
            repo.size_on_disk,
            repo.nb_files,
            repo.last_accessed,
            repo.last_modified,
            {
                rev.commit_hash: (rev.size_on_disk, tuple(sorted(rev.refs)), len(rev.files))
                for rev in repo.revisions
            },
        )
        for repo in info.repos
    }


def _our_view(scan):  # type: ignore[no-untyped-def]
    return {
        repo.key: (
            repo.size,
            repo.nb_files,
            repo.last_accessed,
            repo.last_modified,
            {rev.commit_hash: (rev.size, rev.refs, len(rev.files)) for rev in repo.revisions},
        )
        for repo in scan.repos
    }


def test_scan_matches_huggingface_hub(layout: Layout) -> None:
    theirs = scan_cache_dir(layout.hub)
    ours = scan_hub_cache(layout.hub)
    assert ours.size_on_disk == theirs.size_on_disk
    assert _our_view(ours) == _hub_view(theirs)
    assert {(f.path, f.size) for f in ours.incomplete} == {
        (f.file_path, f.size_on_disk) for f in theirs.incomplete_files
    }
    # The same corrupted repos are reported, except the hub's own version.txt marker.
    hub_warnings = {str(w) for w in theirs.warnings if not str(w).endswith("version.txt")}
    assert set(ours.warnings) == hub_warnings
    assert any("broken symlink" in w for w in ours.warnings)
    assert ours.corrupted == (layout.hub / "models--org--broken",)


def test_detached_revisions_and_refs(layout: Layout) -> None:
    scan = scan_hub_cache(layout.hub)
    alpha = scan.repo(layout.alpha.key)
    assert alpha is not None
    by_hash = {rev.commit_hash: rev for rev in alpha.revisions}
    assert by_hash[layout.revs["alpha_main"]].refs == ("main",)
    assert not by_hash[layout.revs["alpha_main"]].detached
    assert by_hash[layout.revs["alpha_old"]].detached
    beta = scan.repo(layout.beta.key)
    assert beta is not None and beta.refs == ("main", "refs/pr/3")
    # The nested tokenizer file is found, as the hub's recursive glob finds it.
    main = next(rev for rev in beta.revisions if not rev.detached)
    assert any(os.path.basename(f.file_path) == "tokenizer.json" for f in main.files)


def test_file_entries_drop_out_of_the_garbage_collectors_sight(layout: Layout) -> None:
    """A big cache holds 100k file entries: kept as plain tuples of str and int, the
    collector stops tracking them, so its full passes (which stall the UI) skip them."""
    scan = scan_hub_cache(layout.hub)
    rows = [row for repo in scan.repos for rev in repo.revisions for row in rev.file_rows]
    assert rows
    gc.collect()
    assert not any(gc.is_tracked(row) for row in rows)
    beta = scan.repo(layout.beta.key)
    assert beta is not None
    files = beta.revisions[0].files  # the named view, made on demand
    assert [(f.file_path, f.blob_path, f.size) for f in files] == list(beta.revisions[0].file_rows)


def test_random_layouts_match(tmp_path: Path) -> None:
    rng = random.Random(7)
    hub = tmp_path / "hub"
    for index in range(25):
        repo = RepoBuilder(hub, rng.choice(["model", "dataset"]), f"org{index % 4}/repo{index}")
        shared = {f"f{k}.bin": os.urandom(rng.randint(0, 3000)) for k in range(rng.randint(0, 5))}
        for rev in range(rng.randint(1, 3)):
            files = dict(shared)
            files[f"extra{rev}.bin"] = os.urandom(rng.randint(1, 2000))
            repo.revision(f"r{rev}", files, ("main",) if rev == 0 else ())
    theirs = scan_cache_dir(hub)
    ours = scan_hub_cache(hub)
    assert ours.size_on_disk == theirs.size_on_disk > 0
    assert _our_view(ours) == _hub_view(theirs)


def test_missing_hub_cache_is_empty(tmp_path: Path) -> None:
    scan = scan_hub_cache(tmp_path / "nowhere")
    assert not scan.exists and scan.repos == () and scan.size_on_disk == 0


def test_other_caches_and_old_checkpoints(layout: Layout, cache_env: Path) -> None:
    ext = cache_env / "torch_extensions" / "py311_cpu" / "cpu_adam"
    ext.mkdir(parents=True)
    (ext / "cpu_adam.so").write_bytes(b"s" * 1234)
    pip_http = cache_env / "pip" / "http-v2"
    pip_http.mkdir(parents=True)
    (pip_http / "blob").write_bytes(b"p" * 999)
    workspace = Workspace(cache_env / "workspace").ensure()
    run = workspace.create_run("llama-1")
    for step in (100, 250, 1000):
        folder = run.path / "checkpoints" / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"c" * step)

    scan = scan_cache(CacheLocations.from_env(runs_dir=workspace.runs_dir))
    sizes = {entry.key: entry.size for entry in scan.extras}
    # The hard-linked arrow file is counted once.
    assert sizes["datasets-cache/org___data"] == 8_000
    assert sizes["datasets-cache/downloads"] == 6_000 + len('{"url": "x"}')
    assert sizes["torch-ext/py311_cpu"] == 1234
    assert sizes["pip/http-v2"] == 999
    assert sizes["checkpoint/llama-1/checkpoint-100"] == 100
    assert sizes["checkpoint/llama-1/checkpoint-250"] == 250
    assert "checkpoint/llama-1/checkpoint-1000" not in sizes  # the newest stays
    assert "corrupted/models--org--broken" in sizes
    assert scan.total_size == scan.hub.size_on_disk + sum(sizes.values())


def test_resolve_targets(layout: Layout) -> None:
    scan = scan_cache(CacheLocations.from_env())
    old = layout.revs["alpha_old"]
    selection = resolve_targets(scan, ["model/org/alpha", old[:9], "datasets-cache/downloads/"])
    assert selection.repos == {"model/org/alpha"}
    assert selection.revisions == {old}
    assert selection.extras == {"datasets-cache/downloads"}
    with pytest.raises(CacheError, match=r"did you mean model/org/alpha"):
        resolve_targets(scan, ["org/alpha"])
    with pytest.raises(CacheError, match="no cache entry 'deadbeef0'"):
        resolve_targets(scan, ["deadbeef0"])
    # A path is no cache entry, and nothing suggests turning it into one.
    for path in ("../../etc", "/etc/passwd"):
        with pytest.raises(CacheError, match=r"\(a path: give a cache entry like model/ORG/NAME"):
            resolve_targets(scan, [path])


def test_sorting(tmp_path: Path) -> None:
    layout = build_layout(tmp_path / "hf", tmp_path / "out")
    repos = scan_hub_cache(layout.hub).repos
    assert [r.size for r in sort_repos(repos, "size")] == sorted(
        (r.size for r in repos), reverse=True
    )
    assert [r.repo_id for r in sort_repos(repos, "name")] == ["org/alpha", "org/beta", "org/data"]
    assert sort_repos(repos, "type")[0].repo_type == "dataset"


def test_format_size() -> None:
    assert format_size(999) == "999"
    assert format_size(1500) == "1.5K"
    assert format_size(2_500_000_000) == "2.5G"
