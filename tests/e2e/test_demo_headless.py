"""`magitui demo --headless` end to end, with real processes only: the stand-in teacher job,
generation, curation, training under accelerate launch, transformers serve, one chat turn, and
every job stopped afterwards. A second run in the same folder keeps the model and the training."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from magitui_core.context import open_context
from magitui_core.demo.stand_in_teacher import STAND_IN_MODEL
from magitui_core.demo.tour import JOB_KIND, STAGE_KEYS, DemoView
from magitui_core.jobs.events import read_events
from magitui_core.jobs.supervisor import wait_group_empty
from tests.conftest import magitui_cmd


def run_demo(folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*magitui_cmd(), "demo", "--headless", "--dir", str(folder), *extra],
        capture_output=True,
        text=True,
        timeout=600,
    )


def demo_view(folder: Path) -> tuple[DemoView, list[dict]]:
    jobs = open_context(folder).jobs
    (newest, *_) = [job for job in jobs.list_jobs() if job.status.kind == JOB_KIND]
    events = read_events(newest.events_path)
    return DemoView().fold_all(events), events


def assert_nothing_left(folder: Path) -> None:
    for job in open_context(folder).jobs.list_jobs():
        assert not job.is_live, f"job {job.id} ({job.status.kind}) is still {job.state.value}"
        if job.status.pgid is not None:
            assert wait_group_empty(job.status.pgid, 5), f"processes of {job.id} are left"


def stage_events(events: list[dict], state: str) -> list[str]:
    return [e["stage"] for e in events if e["type"] == "progress" and e.get("state") == state]


@pytest.mark.slow
def test_headless_demo_runs_every_stage_and_cleans_up(isolated: Path) -> None:
    folder = isolated / "demo"
    first = run_demo(folder)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]

    view, events = demo_view(folder)
    assert stage_events(events, "started") == list(STAGE_KEYS)
    assert stage_events(events, "done") == list(STAGE_KEYS)
    assert all(state.seconds is not None and state.seconds > 0 for state in view.stages.values())
    assert view.finished is not None and set(view.finished["durations"]) == set(STAGE_KEYS)
    for number in range(1, len(STAGE_KEYS) + 1):
        assert f"[{number}/{len(STAGE_KEYS)}]" in first.stdout
    assert "Stage durations: model " in first.stdout and " total " in first.stdout

    # Each hand-off is the file the stage before wrote.
    run = folder / "runs" / "demo"
    generated = [json.loads(line) for line in (run / "data" / "generated.jsonl").open()]
    assert len(generated) >= 30
    assert all(r["model"] == STAND_IN_MODEL for r in generated)
    assert all(r["seed"].strip() in r["problem"] for r in generated if "[" not in r["seed"])
    train_rows = (run / "data" / "train.jsonl").read_text().splitlines()
    assert len(train_rows) >= 30, "curation dropped the stand-in's samples"
    final = run / "checkpoints" / "final"
    assert (final / "model.safetensors").is_file()
    assert view.endpoint == {"base_url": view.endpoint["base_url"], "model": str(final)}

    # The served model answered the question (whatever a random model says).
    assert ">>> Write a Python function" in first.stdout
    assert "finish " in first.stderr
    assert "stopped job serve-" in first.stderr
    assert_nothing_left(folder)

    # Again without --fresh: the model and the training are kept, the rest runs again.
    second = run_demo(folder)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    view, events = demo_view(folder)
    reused = [e["stage"] for e in events if e.get("reused")]
    assert reused == ["model", "train"]
    assert "kept from before" in second.stdout
    assert_nothing_left(folder)


@pytest.mark.slow
def test_ctrl_c_mid_training_stops_every_job(isolated: Path) -> None:
    folder = isolated / "demo"
    process = subprocess.Popen(
        [*magitui_cmd(), "demo", "--headless", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("[5/6]"):
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "interrupted: stopping the demo's jobs" in err and "stopped job demo-" in err
    assert_nothing_left(folder)
    view, _ = demo_view(folder)
    assert view.stages["train"].state in ("running", "failed")
    assert view.stages["serve"].state == "waiting"


def test_fresh_refuses_a_folder_that_is_not_a_demo(isolated: Path) -> None:
    folder = isolated / "precious"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    result = run_demo(folder, "--fresh")
    assert result.returncode == 1
    assert "is not a magitui demo folder" in result.stderr and "--dir" in result.stderr
    assert (folder / "notes.txt").read_text() == "keep me"


def test_the_demo_lives_in_the_workspace_the_user_chose(isolated: Path) -> None:
    """MAGITUI_HOME and -w decide where the demo's folder is (no --dir): shown by --fresh
    refusing a non-demo folder exactly there, before anything starts."""
    for args, root in (
        ([], isolated / "workspace"),  # MAGITUI_HOME, set by the isolated fixture
        (["-w", str(isolated / "elsewhere")], isolated / "elsewhere"),
    ):
        (root / "demo").mkdir(parents=True)
        (root / "demo" / "notes.txt").write_text("keep me")
        result = subprocess.run(
            [*magitui_cmd(), *args, "demo", "--headless", "--fresh"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, result.stderr
        assert str(root / "demo") in result.stderr
        assert "is not a magitui demo folder" in result.stderr
        assert (root / "demo" / "notes.txt").read_text() == "keep me"


def test_missing_extras_exit_2_with_the_install_command(isolated: Path) -> None:
    """A Python where fastapi (the serve extra) cannot be imported: nothing is created."""
    folder = isolated / "demo"
    hide = (
        "import sys, importlib.abc\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'fastapi':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from magitui.cli import main\n"
        f"sys.argv = ['magitui', 'demo', '--headless', '--dir', {str(folder)!r}]\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "fastapi" in result.stderr and 'pip install -e ".[train,serve]"' in result.stderr
    assert not folder.exists()
