"""`magitui serve` starts a real server as a job, waits until it answers, and records the
endpoint; `magitui chat` then talks to it; stopping the job ends the server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from magitui_core.context import open_context
from magitui_core.generation.local_teacher import ENDPOINT_FILE
from magitui_core.jobs.supervisor import wait_group_empty
from tests.conftest import magitui_cmd

pytestmark = pytest.mark.slow  # loads a model server


def magitui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*magitui_cmd(), *args], capture_output=True, text=True, timeout=300)


def test_serve_then_chat_then_stop(isolated: Path, tiny_chat_model: Path) -> None:
    served = magitui("serve", str(tiny_chat_model), "--engine", "transformers")
    assert served.returncode == 0, served.stderr
    job_id = served.stdout.strip()
    jobs = open_context().jobs
    try:
        job = jobs.get(job_id)
        assert job.is_live and job.status.kind == "serve"
        endpoint = json.loads((job.dir / ENDPOINT_FILE).read_text())
        assert endpoint["base_url"].startswith("http://127.0.0.1:")
        assert f"ready at {endpoint['base_url']} (model {tiny_chat_model})" in served.stderr
        chat = magitui(
            "chat",
            "--base-url",
            endpoint["base_url"],
            "--model",
            endpoint["model"],
            "-p",
            "Write add.",
            "--max-tokens",
            "5",
        )
        assert chat.returncode == 0, chat.stderr
        assert "finish " in chat.stderr
    finally:
        stopped = jobs.stop(job_id, grace=10)
    assert stopped.state.value == "stopped"
    assert wait_group_empty(job.status.pgid, timeout=5)


def test_a_folder_that_is_no_model_is_refused_at_once(isolated: Path, tmp_path: Path) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    served = magitui("serve", str(empty), "--engine", "transformers")
    assert served.returncode == 1 and "has no config.json" in served.stderr
    assert open_context().jobs.list_jobs() == []


def test_a_model_that_cannot_load_fails_with_its_log(isolated: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    served = magitui("serve", str(broken), "--engine", "transformers", "--timeout", "120")
    assert served.returncode == 1
    assert "ended (failed) before it was ready" in served.stderr
    assert "see: magitui jobs logs serve-broken-model-" in served.stderr
