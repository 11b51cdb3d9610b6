"""An interrupted curation leaves the previous output whole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from magitui_core.curation.jsonl_io import write_jsonl_atomic
from tests.curation.synthetic import synthetic_records, write_jsonl


def test_a_write_that_fails_midway_keeps_the_old_file_and_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "train.jsonl"
    write_jsonl_atomic(out, [{"instruction": "old", "response": "kept"}])
    before = out.read_bytes()

    def records() -> Iterator[dict[str, str]]:
        yield {"instruction": "new", "response": "1"}
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_jsonl_atomic(out, records())
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]


@pytest.mark.slow
def test_killing_the_job_while_it_writes_keeps_the_old_output(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "gen.jsonl", synthetic_records(40_000, seed=4))
    out = tmp_path / "train.jsonl"
    out.write_text(json.dumps({"instruction": "old", "response": "kept"}) + "\n")
    before = out.read_bytes()
    command = [
        sys.executable,
        "-m",
        "magitui_core.curation.preprocess",
        str(source),
        "--out",
        str(out),
    ]
    command += ["--decontaminate", "none", "--dedupe", "none"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_while_writing = False
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            temps = list(tmp_path.glob(".train.jsonl.*.tmp"))
            if temps and temps[0].stat().st_size > 0:
                os.kill(process.pid, signal.SIGKILL)
                killed_while_writing = True
                break
            time.sleep(0.001)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    assert killed_while_writing, "the job finished before its temp file was seen"
    assert out.read_bytes() == before
