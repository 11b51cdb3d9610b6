"""Runs in the workspace: create, list, rename, delete, with clear refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from magitui_core.workspace import Workspace, WorkspaceError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws").ensure()


def test_create_lays_out_the_run(ws: Workspace) -> None:
    run = ws.create_run("exp-1", {"ui": {"theme": "x"}, "workspace": {"path": None}})
    for sub in ("data", "jobs", "checkpoints"):
        assert (run.path / sub).is_dir()
    snapshot = tomllib.loads((run.path / "run.toml").read_text())
    assert snapshot["name"] == "exp-1"
    assert snapshot["config"]["ui"]["theme"] == "x"
    assert snapshot["config"]["workspace"] == {}  # TOML has no null: None values are dropped
    assert [r.name for r in ws.list_runs()] == ["exp-1"]


@pytest.mark.parametrize("name", ["", "a b", "../x", "-lead", "x" * 65, "ü"])
def test_bad_names_are_refused_with_the_rule(ws: Workspace, name: str) -> None:
    with pytest.raises(WorkspaceError, match="letters, digits"):
        ws.create_run(name)


def test_duplicate_and_missing_runs(ws: Workspace) -> None:
    ws.create_run("a")
    with pytest.raises(WorkspaceError, match="already exists"):
        ws.create_run("a")
    with pytest.raises(WorkspaceError, match=r"no run named 'b'.*runs: a"):
        ws.get_run("b")


def test_rename_moves_everything_and_updates_the_snapshot(ws: Workspace) -> None:
    run = ws.create_run("old")
    (run.path / "data" / "x.jsonl").write_text("{}\n")
    renamed = ws.rename_run("old", "new")
    assert (renamed.path / "data" / "x.jsonl").read_text() == "{}\n"
    assert tomllib.loads((renamed.path / "run.toml").read_text())["name"] == "new"
    assert not run.path.exists()
    ws.create_run("other")
    with pytest.raises(WorkspaceError, match="a run named 'other' exists"):
        ws.rename_run("new", "other")


def test_delete_refuses_live_jobs_then_deletes(ws: Workspace) -> None:
    run = ws.create_run("busy")
    with pytest.raises(WorkspaceError, match="while its jobs run: j1"):
        ws.delete_run("busy", live_job_ids=["j1"])
    assert run.path.exists()
    ws.delete_run("busy", live_job_ids=[])
    assert not run.path.exists()


def test_unwritable_workspace_names_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(WorkspaceError, match="--workspace DIR or MAGITUI_HOME"):
        Workspace(blocker / "ws").ensure()
