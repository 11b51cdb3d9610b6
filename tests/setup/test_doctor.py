"""`magitui doctor` on this machine: the real no-GPU path, secrets masked, config problems."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import magitui_cmd
from tests.fake_secrets import fake_openai_key


def doctor(**env: str) -> tuple[int, list[dict[str, str]], str]:
    result = subprocess.run(
        [*magitui_cmd(), "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **env},
    )
    return result.returncode, json.loads(result.stdout), result.stdout + result.stderr


def by_name(checks: list[dict[str, str]], name: str) -> dict[str, str]:
    return next(c for c in checks if c["name"] == name)


def test_doctor_reports_this_machine(isolated: Path) -> None:
    key = fake_openai_key("doctor-0123456789abcdefghij")
    config = isolated / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[jobs]\nstop_grace_seconds = 'x'\n")
    code, checks, raw = doctor(OPENAI_API_KEY=key)
    assert code == 0
    assert by_name(checks, "python")["status"] == "ok"
    gpus = by_name(checks, "GPUs")
    assert gpus["status"] == "info" and gpus["detail"].startswith("No NVIDIA GPU found")
    teacher = by_name(checks, "Teacher API key")
    assert teacher["status"] == "ok" and teacher["detail"].startswith("sk-…ghij from environment")
    assert key not in raw
    assert by_name(checks, "Hugging Face token")["fix"].endswith("magitui credentials set hf_token")
    assert "stop_grace_seconds = 'x'" in by_name(checks, "config")["detail"]
    disk = by_name(checks, "disk")
    assert "holds" in disk["detail"] and "workspace" in disk["detail"]
    assert by_name(checks, "torch")["status"] == "ok"
