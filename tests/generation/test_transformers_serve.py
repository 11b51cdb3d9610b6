"""A real OpenAI-compatible server: `transformers serve` with a tiny random model, offline.

Its answers are noise, so every index must end up rejected with the right reason
(never accepted, never a failed request), and exactly once.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from magitui_core.generation.engine import GenerationSettings, run_generation
from magitui_core.generation.teacher import probe_endpoint
from tests.conftest import magitui_cmd
from tests.generation.conftest import read_jsonl, write_seed_lines

pytestmark = pytest.mark.slow


def test_generation_against_transformers_serve(
    tiny_model_server: tuple[str, str], tiny_chat_model: Path, tmp_path: Path
) -> None:
    transformers_server, _ = tiny_model_server  # the shared server of tests/conftest.py
    probe = probe_endpoint(transformers_server, str(tiny_chat_model), None)
    assert str(tiny_chat_model) in [m.id for m in probe.models]
    assert probe.system_role is True and probe.error is None
    seeds = write_seed_lines(
        tmp_path / "seeds.jsonl", [f"def f{i}(x): return x + {i}" for i in range(6)]
    )
    out = tmp_path / "gen.jsonl"
    summary = run_generation(
        GenerationSettings(
            base_url=transformers_server,
            model=str(tiny_chat_model),
            seeds=str(seeds),
            count=6,
            out=out,
            concurrency=2,
            max_tokens=24,
            attempts=2,
            backoff_base=0.05,
        )
    )
    assert summary["state"] == "completed" and summary["system_role_merged"] is False
    assert read_jsonl(out) == []  # random weights write no [Problem Description]/[Solution]
    rejected = read_jsonl(tmp_path / "gen.rejected.jsonl")
    assert sorted(r["index"] for r in rejected) == list(range(6))
    for record in rejected:
        expected = "truncated" if record["finish_reason"] == "length" else None
        assert record["reason"] in ("truncated", "unparseable", "empty")
        if expected:
            assert record["reason"] == expected
        assert record["usage"]["completion_tokens"] <= 24


def test_local_teacher_job_serves_the_generation(
    isolated: Path, jobs: Any, tiny_chat_model: Path, tmp_path: Path
) -> None:
    """`--local-teacher` starts the server as a job, waits for it, and generates against it."""
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", ["def g(): pass", "x = [1, 2]"])
    out = tmp_path / "local.jsonl"
    result = subprocess.run(
        [
            *magitui_cmd(),
            "generate",
            "--local-teacher",
            str(tiny_chat_model),
            "--engine",
            "transformers",
            "--seeds",
            str(seeds),
            "--count",
            "2",
            "--max-tokens",
            "16",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "teacher ready at http://127.0.0.1:" in result.stderr
    (server_job,) = [j for j in jobs.list_jobs() if j.status.kind == "teacher-server"]
    assert server_job.is_live  # the server stays up for the next generation
    rejected = read_jsonl(tmp_path / "local.rejected.jsonl")
    assert sorted(r["index"] for r in rejected) == [0, 1]
