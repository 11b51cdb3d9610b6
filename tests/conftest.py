"""Shared fixtures: every test runs against its own config file, credentials and workspace."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from magitui_core.jobs.manager import JobInfo, JobManager

SECRET_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HF_TOKEN", "HF_TOKEN_PATH")

# Snapshot tests freeze the machine figures of the Monitor and Setup screens (see the plugins).
pytest_plugins = ["tests.monitor.frozen_monitor", "tests.ui.frozen_setup"]


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point magitui at fresh files under tmp_path and hide the user's secrets."""
    monkeypatch.setenv("MAGITUI_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("MAGITUI_CREDENTIALS", str(tmp_path / "config" / "credentials.toml"))
    monkeypatch.setenv("MAGITUI_HOME", str(tmp_path / "workspace"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def jobs(isolated: Path) -> Iterator:
    """A JobManager on a temp workspace; every job still alive at the end is stopped."""
    from magitui_core.context import open_context

    ctx = open_context()
    yield ctx.jobs
    for job in ctx.jobs.list_jobs():
        if job.is_live or job.state.value == "crashed":
            ctx.jobs.stop(job.id, grace=1)


def magitui_cmd() -> list[str]:
    """The installed `magitui` console script (as a user runs it), else the module."""
    script = Path(sys.executable).parent / "magitui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "magitui"]


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny causal LM built offline once per session (see tests/tiny_model.py)."""
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


def write_pairs(path: Path, rows: int, seed: int = 0) -> Path:
    """Instruction/response JSONL of varied lengths, as `magitui preprocess` writes it."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            record = {
                "instruction": "Write a solution to the following coding problem:\n"
                + f"Add the numbers {i} and {i + 1}."
                + " Then print it." * rng.randint(0, 12),
                "response": "def add(a, b):\n    return a + b\n" * rng.randint(1, 6),
            }
            handle.write(json.dumps(record) + "\n")
    return path


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    return write_pairs(tmp_path / "train.jsonl", 40)


@pytest.fixture(scope="session")
def tiny_chat_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with the Magicoder chat template, as `magitui train` saves models."""
    import shutil

    from transformers import PreTrainedTokenizerFast

    from magitui_core.prompts import CHAT_TEMPLATE

    folder = tmp_path_factory.mktemp("tiny-chat") / "model"
    shutil.copytree(tiny_model, folder)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_server(
    tiny_chat_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A real `transformers serve` of the tiny chat model on 127.0.0.1: (base_url, model)."""
    import signal
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "transformers"),
                "serve",
                str(tiny_chat_model),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log_path.read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "transformers serve did not get ready"
            time.sleep(0.3)
        yield base_url, str(tiny_chat_model)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wait_until_ended(
    jobs: JobManager, job_id: str, timeout: float, what: str = "the job"
) -> JobInfo:
    """Poll a job until it is no longer live; fails the test after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while (info := jobs.get(job_id)).is_live:
        assert time.monotonic() < deadline, f"{what} did not finish in {timeout:.0f} s"
        time.sleep(0.2)
    return info


@pytest.fixture
def small_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A small tmpfs, 1 MiB unless a test says otherwise (``@pytest.mark.disk_size("512k")``),
    to fill up for real; root only, skipped with the reason where mounting is not allowed."""
    marker = request.node.get_closest_marker("disk_size")
    size = marker.args[0] if marker else "1m"
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
