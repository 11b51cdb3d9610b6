"""Big inputs are read in pieces by forked workers: the result must be one process's, exactly.

Pieces are cut at byte offsets that fall anywhere (inside a line, a UTF-8 character, a CRLF),
so the reader of a piece must read exactly the lines that begin in it; the workers' facts,
line numbers, bad lines and formatted lines must then add up, in input order, to what one
process reading every line finds, for every option, every input format and every way a file
can be bad. Small pieces make a small file take hundreds of them.
"""

from __future__ import annotations

import json
import os
import random
import threading
from pathlib import Path
from typing import Any

import pytest

from magitui_core.curation import read_pass
from magitui_core.curation.formats import FormatError
from magitui_core.curation.jsonl_io import BadLine, JsonlPiece, read_jsonl_at
from magitui_core.curation.pipeline import CurateOptions, CurationError, CurationResult, curate
from magitui_core.curation.read_pass import Parallelism
from tests.curation.hostile_inputs import inputs

SERIAL = Parallelism(workers=1)
PIECES = Parallelism(workers=3, piece_bytes=700)


def piece_lines(path: Path, cuts: list[int]) -> tuple[list[tuple[Any, ...]], list[BadLine]]:
    """Every piece between ``cuts`` read on its own, numbered on as one file would be."""
    found: list[tuple[Any, ...]] = []
    bad: list[BadLine] = []
    base = 0
    bounds = [0, *cuts]
    for start, end in zip(bounds, [*cuts, None], strict=True):
        piece_bad: list[BadLine] = []
        piece = JsonlPiece(path, piece_bad, start, end)
        found += [(number + base, *rest) for number, *rest in piece]
        bad += [BadLine(b.file, b.line + base, b.reason) for b in piece_bad]
        base += piece.lines
    return found, bad


def test_pieces_cut_anywhere_read_every_line_once(tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(
        b'\n{"a": "\xc3\xa9\\u00e9"}\r\n  \n{bad}\n[1]\n\xff\xfe\n{"b": 2}\n\n\n{"c": "x\\ny"}'
        b'\r\n{"d": 4}\n{"torn": "cu'
    )
    whole_bad: list[BadLine] = []
    whole = list(read_jsonl_at(path, whole_bad))
    assert len(whole) == 4 and len(whole_bad) == 4  # {bad}, [1], not UTF-8, the torn line
    size = path.stat().st_size
    for cut in range(size + 2):  # one cut at every offset, and past the end
        assert piece_lines(path, [cut]) == (whole, whole_bad), cut
    rng = random.Random(0)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, size), rng.randint(2, 6)))
        assert piece_lines(path, cuts) == (whole, whole_bad), cuts


def comparable(result: CurationResult, out: Path) -> tuple[Any, ...]:
    report = result.report()
    for timing in ("output", "seconds", "stage_seconds", "workers"):
        report.pop(timing)
    kept = [(r.source, r.raw) for r in result.kept]
    return out.read_bytes(), report, kept, [str(b) for b in result.loaded.bad_lines]


def late_format(folder: Path, source: Path) -> Path:
    """A file whose first lines settle nothing: its format is known only some lines in."""
    path = folder / "late.jsonl"
    path.write_bytes(b'\n{not json}\n{"seed": "s"}\n{"other": 1}\n' + source.read_bytes())
    return path


OPTIONS = {
    "default": CurateOptions(decontaminate="humaneval"),
    "minhash": CurateOptions(decontaminate="humaneval", dedupe="minhash"),
    "copies, ngram": CurateOptions(
        decontaminate="humaneval", drop_copied_solutions=True, decontaminate_method="ngram"
    ),
    "no shuffle, no dedupe": CurateOptions(decontaminate="humaneval", shuffle=False, dedupe="none"),
    "src-instruct given": CurateOptions(decontaminate="humaneval", fmt="src-instruct"),
}


@pytest.mark.parametrize("name", list(OPTIONS))
def test_workers_give_what_one_process_gives(name: str, tmp_path: Path) -> None:
    paths = inputs(tmp_path)
    paths = [late_format(tmp_path, paths[0]), *paths, paths[0]]
    if OPTIONS[name].fmt != "auto":
        paths = [paths[0], paths[1]]  # the src-instruct ones
    options = OPTIONS[name]
    serial_out, pieces_out = tmp_path / "serial.jsonl", tmp_path / "pieces.jsonl"
    serial = curate(paths, serial_out, options, parallelism=SERIAL)
    pieces = curate(paths, pieces_out, options, parallelism=PIECES)
    assert (serial.workers, pieces.workers) == (1, 3)
    assert comparable(pieces, pieces_out) == comparable(serial, serial_out)
    assert serial.removed and serial.loaded.bad_lines  # the comparison covered both
    # The late file's first lines are named as lines of unknown shape, by their own numbers.
    assert str(pieces.loaded.bad_lines[0]).endswith(
        "late.jsonl:2: not JSON (Expecting "
        "property name enclosed in double quotes: "
        "line 1 column 2 (char 1))"
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) in (
        [],
        [".pieces.jsonl.lock", ".serial.jsonl.lock"],
    )  # the spools are gone


def test_the_report_names_how_many_processes_read(tmp_path: Path) -> None:
    paths = inputs(tmp_path)
    report = tmp_path / "report.json"
    curate(paths, tmp_path / "out.jsonl", OPTIONS["default"], report, parallelism=PIECES)
    assert json.loads(report.read_text())["workers"] == 3


def test_a_small_file_is_read_here(tmp_path: Path) -> None:
    paths = inputs(tmp_path)
    result = curate(paths, tmp_path / "out.jsonl", parallelism=Parallelism(workers=4))
    assert result.workers == 1  # under two pieces' worth: not worth a fork


def test_a_process_with_other_threads_still_reads_in_workers(tmp_path: Path) -> None:
    """A benchmark downloaded from the Hub leaves tqdm's monitor thread behind: the workers,
    which take no lock such a thread could hold, are forked all the same."""
    paths = inputs(tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        result = curate(paths, tmp_path / "threads.jsonl", parallelism=PIECES)
    finally:
        stop.set()
        thread.join()
    reference = curate(paths, tmp_path / "serial.jsonl", parallelism=SERIAL)
    assert result.workers == 3
    assert (tmp_path / "threads.jsonl").read_bytes() == (tmp_path / "serial.jsonl").read_bytes()
    assert result.summary() == reference.summary()


def test_progress_counts_lines_up_to_the_total_in_every_file(tmp_path: Path) -> None:
    paths = inputs(tmp_path)
    again = tmp_path / "again.jsonl"
    again.write_bytes(paths[0].read_bytes())
    seen: list[tuple[str, int, int]] = []
    curate(
        [paths[0], again],
        tmp_path / "out.jsonl",
        parallelism=PIECES,
        progress=lambda *a: seen.append(a),
    )
    total = paths[0].read_bytes().count(b"\n") + 1  # and the torn last line
    for name in ("gen.jsonl", "again.jsonl"):  # the second file is read in pieces too
        reads = [(done, total) for stage, done, total in seen if stage == f"read {name}"]
        assert len(reads) > 10 and {t for _, t in reads} == {total}
        assert [d for d, _ in reads] == sorted(d for d, _ in reads)
        assert reads[-1] == (total, total)


def test_a_file_of_the_wrong_shape_fails_as_it_does_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "wrong.jsonl"
    path.write_text("".join(json.dumps({"text": f"row {i} " * 20}) + "\n" for i in range(200)))
    messages = []
    for parallelism in (SERIAL, PIECES):
        with pytest.raises(FormatError) as caught:
            curate(
                [path],
                tmp_path / "out.jsonl",
                CurateOptions(fmt="src-instruct"),
                parallelism=parallelism,
            )
        messages.append(str(caught.value))
        with pytest.raises(FormatError) as nothing:  # auto: every line is of unknown shape
            curate([path], tmp_path / "out.jsonl", parallelism=parallelism)
        messages.append(str(nothing.value))
    assert messages[:2] == messages[2:]
    assert messages[0].endswith("records have fields text — need problem+solution (src-instruct)")
    assert "records have fields text — need problem+solution (src-instruct); " in messages[1]
    assert not (tmp_path / "out.jsonl").exists()


def die(piece: object) -> None:
    os._exit(3)  # as the kernel's out-of-memory killer would end it: no exception, no word


def test_a_worker_that_dies_fails_the_run_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = inputs(tmp_path)
    out = tmp_path / "out.jsonl"
    out.write_text("the previous output\n")
    monkeypatch.setattr(read_pass, "_read_piece", die)
    with pytest.raises(CurationError, match=r"a reading worker died .* --workers 1"):
        curate(paths, out, parallelism=PIECES)
    assert out.read_text() == "the previous output\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) in (
        [],
        [".out.jsonl.lock"],
    )
