"""Fixtures for generation tests: scripted teachers on 127.0.0.1 and seed files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.generation.teacher_server import Script, TeacherServer


@pytest.fixture
def teacher() -> Iterator[Callable[..., TeacherServer]]:
    """Start scripted teachers: ``teacher(reject_system=True, ...)``; all closed at the end."""
    servers: list[TeacherServer] = []

    def start(**script: Any) -> TeacherServer:
        server = TeacherServer(Script(**script)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def write_seed_lines(path: Path, lines: list[str], column: str = "content") -> Path:
    """One single-line document per record, so index i's snippet is exactly line i."""
    path.write_text("".join(json.dumps({column: line}) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def plain_seeds(tmp_path: Path) -> Path:
    return write_seed_lines(tmp_path / "seeds.jsonl", [f"value_{i} = {i} * 2" for i in range(50)])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line must be one JSON object (no torn or blank lines)."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n")[:-1], 1):
        record = json.loads(line)
        assert isinstance(record, dict), f"{path}:{number} is not an object"
        records.append(record)
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), f"{path} ends in a torn line"
    return records
