"""The event stream: appends from two writers, torn lines, bad lines, rotation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from magitui_core.jobs.events import EventReader, EventWriter, make_event, read_events
from magitui_core.jobs.tail import FileFollower, last_lines


def test_writer_and_reader_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as writer:
        writer.emit("progress", done=1, total=10)
        writer.emit("metric", loss=1.25)
    events = read_events(path)
    assert [(e["type"], e.get("done"), e.get("loss")) for e in events] == [
        ("progress", 1, None),
        ("metric", None, 1.25),
    ]
    assert all(isinstance(e["time"], float) for e in events)


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type 'nope'"):
        make_event("nope")


def test_torn_last_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    reader = EventReader(path)
    assert reader.read_new() == []  # no file yet
    whole = json.dumps({"type": "log", "time": 1.0, "message": "hi"})
    path.write_text(whole + "\n" + whole[:10])
    assert [e["message"] for e in reader.read_new()] == ["hi"]
    with path.open("a") as handle:
        handle.write(whole[10:] + "\n")
    assert [e["message"] for e in reader.read_new()] == ["hi"]
    assert reader.skipped == 0


def test_garbage_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('not json\n[1,2]\n{"no_type": 1}\n{"type": "log", "time": 0}\n\n')
    reader = EventReader(path)
    assert [e["type"] for e in reader.read_new()] == ["log"]
    assert reader.skipped == 3


def test_two_writers_never_interleave_within_a_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    pid = os.fork()
    if pid == 0:  # child: write concurrently with the parent
        writer = EventWriter(path)
        for i in range(500):
            writer.emit("log", who="child", i=i, pad="x" * 200)
        os._exit(0)
    writer = EventWriter(path)
    for i in range(500):
        writer.emit("log", who="parent", i=i, pad="y" * 200)
    os.waitpid(pid, 0)
    events = read_events(path)
    assert len(events) == 1000
    assert sorted(e["i"] for e in events if e["who"] == "child") == list(range(500))


def test_follower_restarts_on_a_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    path.write_bytes(b"one\ntwo\n")
    follower = FileFollower(path)
    assert follower.read_new() == b"one\ntwo\n"
    path.write_bytes(b"new\n")  # truncated and rewritten, as a log rotation would
    assert follower.read_new() == b"new\n"
    assert follower.was_reset


def test_last_lines_reads_only_the_end(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_text("".join(f"line {i}\n" for i in range(100_000)))
    assert last_lines(path, 3) == ["line 99997", "line 99998", "line 99999"]
    assert last_lines(path, 2, end=len("line 0\nline 1\n")) == ["line 0", "line 1"]
    assert last_lines(tmp_path / "missing", 5) == []


def test_reader_can_start_near_the_end_of_a_big_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as writer:
        for i in range(10_000):
            writer.emit("progress", done=i)
    reader = EventReader(path, from_end=1000)
    events = reader.read_new()
    assert 0 < len(events) < 40
    assert events[-1]["done"] == 9999
    assert [e["done"] for e in events] == list(range(10_000 - len(events), 10_000))
    assert reader.skipped == 0
