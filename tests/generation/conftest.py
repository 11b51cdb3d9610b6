"""Fixtures for generation tests: scripted teachers on 127.0.0.1 and seed files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from magitui_core.generation.snippets import RECIPE_SEED, shuffled_order
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


def write_seed_lines(
    path: Path, lines: list[str], column: str = "content", seed: int = RECIPE_SEED
) -> Path:
    """One single-line document per record, laid out so that index i's snippet is exactly
    line i: the record of line i sits where datasets' shuffle takes index i from."""
    records = [""] * len(lines)
    for index, raw_index in enumerate(shuffled_order(len(lines), seed)):
        records[raw_index] = json.dumps({column: lines[index]}) + "\n"
    path.write_text("".join(records), encoding="utf-8")
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
