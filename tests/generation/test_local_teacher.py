"""The managed local teacher: what happens without vllm, and the readiness wait."""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from magitui_core.generation.local_teacher import (
    LocalTeacher,
    LocalTeacherError,
    engine_command,
    is_ready,
    wait_until_ready,
)
from tests.conftest import magitui_cmd
from tests.generation.teacher_server import TeacherServer

NO_VLLM = importlib.util.find_spec("vllm") is None


@pytest.mark.skipif(not NO_VLLM, reason="vllm is installed here")
def test_without_vllm_the_message_says_how_to_install_it(isolated: Path, tmp_path: Path) -> None:
    with pytest.raises(LocalTeacherError, match=r"vllm is not installed — .*pip install vllm"):
        engine_command("vllm", "some/model", 8000)
    result = subprocess.run(
        [
            *magitui_cmd(),
            "generate",
            "--local-teacher",
            "some/model",
            "--engine",
            "vllm",  # asked for by name (auto would fall back to transformers serve)
            "--seeds",
            str(tmp_path),
            "--count",
            "1",
            "--out",
            str(tmp_path / "o.jsonl"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "vllm is not installed" in result.stderr and "--engine transformers" in result.stderr


def test_unknown_engine_is_named() -> None:
    with pytest.raises(LocalTeacherError, match=r"engine 'tgi' is unknown — one of: vllm, trans"):
        engine_command("tgi", "m", 1)


def test_readiness_and_a_server_that_dies(jobs: Any, teacher: Callable[..., TeacherServer]) -> None:
    server = teacher()
    assert is_ready(server.base_url)
    job = jobs.start(["sh", "-c", "echo loading weights; echo CUDA error: no device; exit 3"])
    dead = LocalTeacher(job, "http://127.0.0.1:9/v1", "m")
    with pytest.raises(
        LocalTeacherError, match=r"ended \(failed\) before it was ready: .*no device"
    ):
        wait_until_ready(jobs, dead, timeout=30)
    alive = jobs.start(["sleep", "30"])
    ready = wait_until_ready(jobs, LocalTeacher(alive, server.base_url, "teacher-model"))
    assert ready.base_url == server.base_url
