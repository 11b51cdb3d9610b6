"""JSONL for curation: a reader that never stops at a bad line, a writer that never tears.

A bad line (torn, not JSON, not an object, not UTF-8) is reported as ``file:line: reason``
and skipped; the caller counts it. Output goes to a temp file in the target folder and is
renamed over the target only when complete, so an interrupted run keeps the old output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from magitui_core.atomic import atomic_writer


@dataclass(frozen=True)
class BadLine:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


# The stdlib's own scanner and whitespace pattern, which json.loads uses (not in its stubs).
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_space = json.decoder.WHITESPACE.match  # type: ignore[attr-defined]


def loads(text: str) -> Any:
    """``json.loads(text)``, without its layers of per-call checks: the same value, and for a
    text it refuses, its very error (json.loads itself raises it)."""
    if not text.startswith("\ufeff"):
        try:
            value, end = _scan(text, _space(text, 0).end())
        except (StopIteration, ValueError):
            pass
        else:
            if _space(text, end).end() == len(text):
                return value
    return json.loads(text)


def read_jsonl(path: Path, bad: list[BadLine]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each good line; append each bad one to ``bad``.

    Raises OSError if the file cannot be opened at all (the caller names the file).
    """
    for number, _, _, value in read_jsonl_at(path, bad):
        yield number, value


def read_jsonl_at(path: Path, bad: list[BadLine]) -> Iterator[tuple[int, int, int, dict[str, Any]]]:
    """``read_jsonl`` that also says where each good line lies: (line number, byte offset,
    byte length, object), so that ``parse_line`` can read it again later."""
    return iter(JsonlPiece(path, bad))


class JsonlPiece:
    """The lines of a file that begin at a byte offset in ``[start, end)``, read as
    ``read_jsonl_at`` reads a whole file: pieces cut at any offsets read every line exactly
    once between them. Line numbers count from the piece's first line (1); ``lines`` is how
    many lines it had, once read, so that a caller can number the next piece's lines on."""

    def __init__(self, path: Path, bad: list[BadLine], start: int = 0, end: int | None = None):
        self.path, self.bad, self.start, self.end = path, bad, start, end
        self.lines = 0

    def __iter__(self) -> Iterator[tuple[int, int, int, dict[str, Any]]]:
        name, bad, end = str(self.path), self.bad, self.end
        with self.path.open("rb") as handle:
            position = self.start
            if position > 0:
                handle.seek(position - 1)
                if handle.read(1) != b"\n":  # the line under way is the previous piece's
                    position += len(handle.readline())
            number = 0
            for number, raw in enumerate(handle, start=1):
                offset, position = position, position + len(raw)
                if end is not None and offset >= end:
                    number -= 1
                    break
                if raw.isspace():  # what strip() would leave empty, without copying the line
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    why = f"not UTF-8 ({exc.reason} at byte {exc.start})"
                    bad.append(BadLine(name, number, why))
                    continue
                try:
                    value = loads(text)
                except ValueError as exc:
                    torn = not raw.endswith(b"\n")
                    reason = "torn last line (no newline)" if torn else f"not JSON ({exc})"
                    bad.append(BadLine(name, number, reason))
                    continue
                if not isinstance(value, dict):
                    why = f"a JSON {type(value).__name__}, not an object"
                    bad.append(BadLine(name, number, why))
                    continue
                yield number, offset, len(raw), value
            self.lines = number


def parse_line(raw: bytes) -> Any:
    """A line ``read_jsonl_at`` found good, parsed as it parsed it."""
    return loads(raw.decode("utf-8"))


def count_lines(path: Path) -> int:
    """Lines in a file, counted in 1 MiB blocks (for progress totals)."""
    count = 0
    last = b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (0 if last == b"\n" else 1)


def training_line(instruction: str, response: str) -> str:
    """``json.dumps({"instruction": instruction, "response": response}) + "\\n"`` (ASCII-escaped,
    default separators, as upstream writes it), without the encoder's set-up on every call:
    the output line of every kept record."""
    escape = encode_basestring_ascii
    return f'{{"instruction": {escape(instruction)}, "response": {escape(response)}}}\n'


def write_jsonl_atomic(
    path: Path, records: Iterable[dict[str, Any]], ensure_ascii: bool = False
) -> int:
    """Write records as JSONL via a temp file + fsync + rename; returns how many were written.

    ``ensure_ascii=True`` writes the bytes upstream's write_jsonl (plain json.dumps) writes.
    """
    written = 0
    with atomic_writer(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=ensure_ascii) + "\n")
            written += 1
    return written
