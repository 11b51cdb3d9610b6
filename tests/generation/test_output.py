"""The output's batched writes: exactly once through kills, torn writes and a full disk."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from magitui_core.generation import output as output_module
from magitui_core.generation.output import GenerationOutput, OutputFull, record_line

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"model": "m", "seed": 976}


def record(index: int, accepted: bool = True, size: int = 40) -> dict[str, Any]:
    base: dict[str, Any] = {"index": index, "seed": f"x_{index} = 'é{'y' * size}'"}
    if accepted:
        return {**base, "problem": "Écrire ✓", "solution": "print(1)"}
    return {**base, "reason": "unparseable", "raw": "no sections"}


def lines_of(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), f"{path.name} ends in a torn line"
    return [json.loads(line) for line in data.splitlines()]


def indices_on_disk(out: Path) -> list[int]:
    rejected = out.with_name(out.stem + ".rejected.jsonl")
    return [r["index"] for r in lines_of(out) + lines_of(rejected)]


def test_a_batch_is_one_write_per_file_with_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "gen.jsonl"
    output = GenerationOutput(out)
    output.open(SETTINGS)
    writes: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data: bytes) -> int:
        writes.append(fd)
        return real_write(fd, data)

    monkeypatch.setattr(output_module.os, "write", counting_write)
    batch = [(record(i, accepted=i % 3 != 0), i % 3 != 0) for i in range(10)]
    for item, accepted in batch:
        assert output.add(item, accepted)
    # Exactly once: an index already queued, or already written, is refused.
    assert not output.add(record(4), True) and output.queued == 10
    assert [item["index"] for item, _ in output.flush()] == [1, 2, 4, 5, 7, 8, 0, 3, 6, 9]
    assert len(writes) == 2 and output.queued == 0
    assert not output.add(record(4), True) and output.flush() == []
    output.close()
    # The lines are what json.dumps(ensure_ascii=False, compact) makes of each record.
    expected = "".join(
        json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"
        for item, accepted in batch
        if accepted
    )
    assert out.read_text(encoding="utf-8") == expected
    assert record_line(batch[1][0]) == expected.splitlines(keepends=True)[0]
    reopened = GenerationOutput(out)
    assert reopened.open(SETTINGS).done == set(range(10))
    reopened.close()


def test_close_writes_what_is_queued(tmp_path: Path) -> None:
    out = tmp_path / "gen.jsonl"
    output = GenerationOutput(out)
    output.open(SETTINGS)
    output.add(record(0), True)
    output.add(record(1, accepted=False), False)
    output.close()
    assert sorted(indices_on_disk(out)) == [0, 1]


def test_a_disk_that_fills_mid_batch_keeps_whole_lines_and_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "gen.jsonl"
    output = GenerationOutput(out)
    output.open(SETTINGS)
    output.write(record(0), True)
    # A disk with room for 3 more lines and a bit: what the files hold counts against it, so
    # cutting a file back frees its room again, as on a real disk.
    capacity = out.stat().st_size + len(record_line(record(1)).encode()) * 3 + 20
    real_write = os.write

    def full_disk_write(fd: int, data: bytes) -> int:
        room = capacity - sum(p.stat().st_size for p in tmp_path.glob("gen*.jsonl"))
        if room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data[:room])  # a short write, as a filling disk gives

    monkeypatch.setattr(output_module.os, "write", full_disk_write)
    for index in range(1, 9):
        output.add(record(index), True)
    output.add(record(9, accepted=False), False)
    with pytest.raises(OutputFull) as failure:
        output.flush()
    kept = [item["index"] for item, _ in failure.value.written]
    assert kept == [1, 2, 3]  # the lines that fitted, one by one after the batch did not
    assert "disk full writing" in str(failure.value)
    monkeypatch.undo()
    assert indices_on_disk(out) == [0, 1, 2, 3]  # whole lines only, nothing torn
    assert output.state.done == {0, 1, 2, 3} and output.queued == 0
    output.close()
    reopened = GenerationOutput(out)
    state = reopened.open(SETTINGS)
    assert state.done == {0, 1, 2, 3} and not state.repaired
    reopened.close()


def test_a_batch_torn_by_a_kill_is_cut_and_its_lost_lines_are_written_once(
    tmp_path: Path,
) -> None:
    out = tmp_path / "gen.jsonl"
    output = GenerationOutput(out)
    output.open(SETTINGS)
    for index in range(3):
        output.add(record(index), True)
    output.flush()
    output.close()
    # What a kill in the middle of the next batch's write leaves: one whole line, half a line.
    batch = b"".join(record_line(record(i)).encode() for i in (3, 4, 5))
    cut = len(record_line(record(3)).encode()) + 25
    with out.open("ab") as handle:
        handle.write(batch[:cut])
    resumed = GenerationOutput(out)
    state = resumed.open(SETTINGS)
    assert state.done == {0, 1, 2, 3} and state.repaired == [str(out)]
    for index in range(6):
        if index not in state.done:
            resumed.add(record(index), True)
    resumed.close()
    assert Counter(indices_on_disk(out)) == Counter(range(6))


CHILD = """
import random, sys, time
from pathlib import Path
from magitui_core.generation.output import GenerationOutput

out, seed, limit = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
output = GenerationOutput(out)
state = output.open({"model": "m", "seed": 976})
rng = random.Random(seed)
pending = (i for i in range(limit) if i not in state.done)
for index in pending:
    accepted = index % 4 != 0
    body = {"problem": "p", "solution": "s" * rng.randint(1, 2000)}
    if not accepted:
        body = {"reason": "unparseable", "raw": "r" * rng.randint(1, 2000)}
    output.add({"index": index, "seed": "é", **body}, accepted)
    if rng.random() < 0.1:
        # An index is accepted once flush() returns it: report it, then carry on.
        done = [str(item["index"]) for item, _ in output.flush()]
        print(" ".join(done), flush=True)
        time.sleep(0.002)  # batches come a turn of the event loop apart, not back to back
output.close()
print("finished", flush=True)
"""


def test_a_writer_killed_mid_batch_loses_no_written_record_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "gen.jsonl"
    limit = 8000
    rng = random.Random(7)
    reported: set[int] = set()
    kills = 0
    for attempt in range(8):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(out), str(attempt), str(limit)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.15, 0.6))  # import and open take ~0.1 s: kill mid-run
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        stdout, _ = child.communicate()
        lines = stdout.split(b"\n")[:-1]  # a report cut by the kill is not a report
        reported |= {int(i) for line in lines if line != b"finished" for i in line.split()}
        # Whatever the moment, nothing reported is missing and nothing is there twice
        # (a torn tail is cut when the output is opened again).
        check = GenerationOutput(out)
        check.open(SETTINGS)
        check.close()
        on_disk = indices_on_disk(out)
        assert len(on_disk) == len(set(on_disk)), "an index was written twice"
        assert reported <= set(on_disk), f"reported but lost: {sorted(reported - set(on_disk))}"
        if lines and lines[-1] == b"finished":
            break
    assert kills >= 2
    final = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), "99", str(limit)], cwd=ROOT, capture_output=True
    )
    assert final.returncode == 0, final.stderr
    assert Counter(indices_on_disk(out)) == Counter(range(limit))


def test_closing_a_finished_output_puts_both_files_in_index_order(tmp_path: Path) -> None:
    out = tmp_path / "gen.jsonl"
    output = GenerationOutput(out)
    output.open(SETTINGS)
    order = [5, 0, 3, 9, 1, 7, 2, 8, 4, 6]  # the order answers came back in
    for index in order:
        output.write(record(index, accepted=index % 4 != 0), index % 4 != 0)
    rejected = tmp_path / "gen.rejected.jsonl"
    landed = {path: path.read_bytes().splitlines(keepends=True) for path in (out, rejected)}
    with out.open("ab") as handle:  # a line that is not a record stays, after the records
        handle.write(b"not json\n")
    output.close(in_order=True)
    assert [r["index"] for r in lines_of(rejected)] == [0, 4, 8]
    data = out.read_bytes().splitlines(keepends=True)
    assert data[-1] == b"not json\n"
    assert [json.loads(line)["index"] for line in data[:-1]] == [1, 2, 3, 5, 6, 7, 9]
    # The same lines, byte for byte, only moved; nothing else left in the folder.
    assert sorted(data[:-1]) == sorted(landed[out])
    assert sorted(rejected.read_bytes().splitlines(keepends=True)) == sorted(landed[rejected])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gen.jsonl",
        "gen.rejected.jsonl",
        "gen.settings.json",
    ]


def test_an_output_already_in_order_is_not_copied(tmp_path: Path) -> None:
    out = tmp_path / "gen.jsonl"
    output = GenerationOutput(out)
    output.open(SETTINGS)
    for index in range(5):
        output.write(record(index), True)
    inode = out.stat().st_ino
    output.close(in_order=True)
    assert out.stat().st_ino == inode  # not rewritten: no copy, no room needed
    assert [r["index"] for r in lines_of(out)] == list(range(5))


def test_a_stopped_output_keeps_the_order_its_lines_came_in(tmp_path: Path) -> None:
    out = tmp_path / "gen.jsonl"
    output = GenerationOutput(out)
    output.open(SETTINGS)
    for index in (2, 0, 1):
        output.write(record(index), True)
    output.close()
    assert [r["index"] for r in lines_of(out)] == [2, 0, 1]


@pytest.mark.disk_size("256k")
def test_a_sort_that_does_not_fit_leaves_the_files_whole_and_says_so(small_disk: Path) -> None:
    out = small_disk / "gen.jsonl"
    output = GenerationOutput(out)
    output.open(SETTINGS)
    for index in reversed(range(400)):  # ~170 KiB: a second copy cannot fit in 256 KiB
        output.write(record(index, size=360), True)
    before = out.read_bytes()
    with pytest.raises(OutputFull) as failure:
        output.close(in_order=True)
    assert "disk full writing" in str(failure.value) and str(out) in str(failure.value)
    assert out.read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir()) == [
        "gen.jsonl",
        "gen.rejected.jsonl",
        "gen.settings.json",
    ]
    # The lock went with the failed close: the rerun can open the output again.
    again = GenerationOutput(out)
    assert again.open(SETTINGS).done == set(range(400))
    again.close()
