"""Generation output, exactly once: OUT (accepted), OUT.rejected.jsonl, OUT.settings.json.

Finished indices are appended as whole lines, a batch of them with a single O_APPEND write
per file, so a SIGKILL can at worst leave a torn last line, which opening the files again
cuts off (that index is simply generated again). An index counts as done only once its line
is written: one still waiting in a batch when the process dies was never reported, and is
asked again. Opening also reads which indices are done, so a rerun of the same command skips
them, and compares the settings fingerprint, so a rerun with other settings cannot silently
mix two datasets.

Lines land in the order answers come back, which with many requests in flight is not the order
of the indices. Upstream sent one request at a time, so its file is in index order, and the
curation after it depends on that order (it shuffles by position, then keeps the first of
duplicates). So when every index of a run is done, ``close(in_order=True)`` rewrites each file
sorted by index: the same lines, in upstream's order, whatever the concurrency or the restarts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.atomic import atomic_binary_writer, read_json, write_json_atomic
from magitui_core.disk_space import write_failed
from magitui_core.jobs.locks import OutputLock, OutputLocked

REJECT_REASONS = (
    "unparseable",  # no [Problem Description] / [Solution] sections in order
    "truncated",  # finish_reason "length"
    "not-stopped",  # any other finish_reason than "stop" (content_filter, none...)
    "empty",  # an empty answer, problem or solution
    "empty-seed",  # the seed document has no lines: nothing to ask about
    "prompt-too-long",  # no room for an answer in the model's context: nothing was sent
    "request-failed",  # the request gave up (outage, timeouts): tried again on a rerun
)
# Rejections that say nothing about the content: a rerun asks again instead of keeping them.
RETRYABLE_REASONS = frozenset({"request-failed"})


class OutputError(ValueError):
    """Output files that cannot be used as they are; the message says how to go on."""


class OutputFull(OSError):
    """A write failed (disk full, quota): what is on disk is whole; the message says so.

    ``written`` holds the (record, accepted) pairs of the failed flush that did reach the disk
    (a batch for the accepted file can land before the one for the rejects fails)."""

    written: Sequence[tuple[dict[str, Any], bool]] = ()


# One encoder for every line (json.dumps with options builds a new one per call); the same bytes.
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def record_line(record: dict[str, Any]) -> str:
    """A record as its output line, newline included."""
    return _LINE_ENCODER.encode(record) + "\n"


def sibling(out: Path, suffix: str) -> Path:
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(stem + suffix)


def fingerprint(settings: dict[str, Any]) -> str:
    blob = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


@dataclass
class ResumeState:
    """What earlier runs left in the files."""

    done: set[int] = field(default_factory=set)
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    # Per index, so a run over part of the file counts only its own range.
    accepted_indices: set[int] = field(default_factory=set)
    rejected_reasons: dict[int, str] = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)  # files whose torn last line was cut
    retried: int = 0  # earlier request failures dropped from the rejects, to be asked again
    bad_lines: int = 0
    latest_sample: dict[str, Any] | None = None

    def count_in(self, start: int, stop: int) -> int:
        return sum(1 for index in self.done if start <= index < stop)

    def outcomes_in(self, start: int, stop: int) -> tuple[int, Counter[str]]:
        """Accepted count and rejections by reason among indices start..stop-1."""
        accepted = sum(1 for index in self.accepted_indices if start <= index < stop)
        rejected = Counter(
            reason for index, reason in self.rejected_reasons.items() if start <= index < stop
        )
        return accepted, rejected

    def note(self, index: int, accepted: bool, reason: str) -> None:
        self.done.add(index)
        if accepted:
            self.accepted += 1
            self.accepted_indices.add(index)
        else:
            self.rejected[reason] += 1
            self.rejected_reasons[index] = reason


def repair_torn_tail(path: Path) -> bool:
    """Cut a last line that has no newline (a write cut short); True if something was cut."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    if size == 0:
        return False
    with path.open("rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return False
        # Walk back in blocks to the last newline; the file can be large.
        position = size
        keep = 0
        while position > 0:
            step = min(65536, position)
            position -= step
            handle.seek(position)
            block = handle.read(step)
            cut = block.rfind(b"\n")
            if cut >= 0:
                keep = position + cut + 1
                break
        handle.truncate(keep)
        os.fsync(handle.fileno())
    return True


def _line_index(line: bytes) -> int | None:
    try:
        return int(json.loads(line)["index"])
    except (ValueError, KeyError, TypeError):
        return None


def put_in_index_order(path: Path) -> bool:
    """Rewrite a JSONL file with its lines sorted by their ``index`` (a stable sort; lines
    without one keep their order, after the rest). Atomic: a crash or a full disk keeps the old
    file. A file already in order is left untouched (no copy, no disk space needed); True when
    it was rewritten."""
    # (index, start, size) of each line; the lines themselves stay on disk.
    lines: list[tuple[int, int, int]] = []
    unordered = False
    last = -1
    with path.open("rb") as handle:
        start = 0
        for line in handle:
            index = _line_index(line) if line.strip() else None
            key = index if index is not None else sys.maxsize
            unordered = unordered or key < last
            last = key
            lines.append((key, start, len(line)))
            start += len(line)
    if not unordered:
        return False
    lines.sort(key=lambda entry: entry[0])
    with path.open("rb") as source, atomic_binary_writer(path) as target:
        fd = source.fileno()
        target.writelines(os.pread(fd, size, start) for _, start, size in lines)
    return True


def _retryable(line: bytes) -> bool:
    if not any(reason.encode() in line for reason in RETRYABLE_REASONS):
        return False  # most lines: no JSON parse needed
    try:
        return json.loads(line).get("reason") in RETRYABLE_REASONS
    except (ValueError, AttributeError):
        return False  # an unreadable line is kept: the scan reports it


def drop_retryable(path: Path) -> int:
    """Rewrite the rejects without the transient failures, so a rerun asks for those indices
    again while each index still ends in exactly one line (atomic: a crash keeps the old file).
    A file with none is left untouched (no copy, no disk space needed)."""
    try:
        with path.open("rb") as source:
            dropped = sum(1 for line in source if _retryable(line))
    except FileNotFoundError:
        return 0
    if not dropped:
        return 0
    with path.open("rb") as source, atomic_binary_writer(path) as target:
        target.writelines(line for line in source if not _retryable(line))
    return dropped


class GenerationOutput:
    """The two JSONL files of one generation and its settings record."""

    def __init__(self, out: Path) -> None:
        self.accepted_path = out
        self.rejected_path = sibling(out, ".rejected.jsonl")
        self.settings_path = sibling(out, ".settings.json")
        self._fds: dict[Path, int] = {}
        # Records waiting for the next flush, and their indices (each index is written once).
        self._accepted: list[dict[str, Any]] = []
        self._rejected: list[dict[str, Any]] = []
        self._queued: set[int] = set()
        self.state = ResumeState()
        self.lock = OutputLock(out)

    def open(self, settings: dict[str, Any], force: bool = False) -> ResumeState:
        """Take the output's lock, check the settings against the files' own, repair them,
        and read what is done."""
        try:
            self.lock.acquire()
            return self._open(settings, force)
        except OutputLocked as exc:
            raise OutputError(str(exc)) from None
        except OutputError:
            self.lock.release()
            raise
        except OSError as exc:
            self.lock.release()
            raise OutputError(
                f"cannot use output {self.accepted_path}: {exc.strerror or exc} — choose another "
                "--out (a writable folder)"
            ) from None

    def _open(self, settings: dict[str, Any], force: bool) -> ResumeState:
        self.accepted_path.parent.mkdir(parents=True, exist_ok=True)
        self._check_settings(settings, force)
        state = ResumeState()
        for path in (self.accepted_path, self.rejected_path):
            if repair_torn_tail(path):
                state.repaired.append(str(path))
        state.retried = drop_retryable(self.rejected_path)
        for path in (self.accepted_path, self.rejected_path):
            self._scan(path, state)
        write_json_atomic(
            self.settings_path, {"fingerprint": fingerprint(settings), "settings": settings}
        )
        for path in (self.accepted_path, self.rejected_path):
            self._fds[path] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.state = state
        return state

    def _check_settings(self, settings: dict[str, Any], force: bool) -> None:
        has_data = any(
            p.exists() and p.stat().st_size > 0 for p in (self.accepted_path, self.rejected_path)
        )
        if not has_data or force:
            return
        try:
            previous = read_json(self.settings_path).get("settings", {})
        except (OSError, ValueError, AttributeError):
            raise OutputError(
                f"{self.accepted_path} already holds data but {self.settings_path.name} is missing "
                "or unreadable, so it cannot be resumed safely — use another --out, or --force "
                "to add to it anyway"
            ) from None
        changed = [
            f"{key} {previous.get(key)!r} → {settings.get(key)!r}"
            for key in sorted(set(previous) | set(settings))
            if previous.get(key) != settings.get(key)
        ]
        if changed:
            raise OutputError(
                f"{self.accepted_path} was generated with other settings ({'; '.join(changed)}) "
                "— rerun with the same settings to resume, use another --out, or --force"
            )

    def _scan(self, path: Path, state: ResumeState) -> None:
        if not path.exists():
            return
        accepted = path == self.accepted_path
        with path.open("rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    index = int(record["index"])
                except (ValueError, KeyError, TypeError):
                    state.bad_lines += 1
                    continue
                if index in state.done:
                    continue  # a line repeated by hand-editing counts once, as resume does
                state.note(index, accepted, str(record.get("reason", "unknown")))
                if accepted:
                    state.latest_sample = record

    def add(self, record: dict[str, Any], accepted: bool) -> bool:
        """Queue one record for the next ``flush``; False (and nothing queued) for an index that
        is already written or queued: exactly once, even if a caller slips."""
        index = int(record["index"])
        if index in self.state.done or index in self._queued:
            return False
        self._queued.add(index)
        (self._accepted if accepted else self._rejected).append(record)
        return True

    @property
    def queued(self) -> int:
        return len(self._queued)

    def flush(self) -> list[tuple[dict[str, Any], bool]]:
        """Write every queued record, one write per file; returns them as (record, accepted).

        When a write fails (disk full) the file is cut back to whole lines, as many of the
        batch's lines as still fit are kept, the rest of the queue is dropped (never reported
        done: a rerun asks for those indices again) and OutputFull is raised, carrying what did
        reach the disk."""
        written: list[tuple[dict[str, Any], bool]] = []
        batches = ((self._accepted, True), (self._rejected, False))
        self._accepted, self._rejected = [], []
        self._queued = set()
        for records, accepted in batches:
            if not records:
                continue
            path = self.accepted_path if accepted else self.rejected_path
            lines = [record_line(record).encode("utf-8") for record in records]
            try:
                self._append(path, lines)
                landed, failure = len(records), None
            except OSError as exc:
                landed = self._append_each(path, lines)
                failure = OutputFull(exc.errno, write_failed(path, exc))
                if landed == len(records):  # the lines fitted one by one after all
                    failure = None
            for record in records[:landed]:
                self.state.note(
                    int(record["index"]), accepted, "" if accepted else str(record["reason"])
                )
                written.append((record, accepted))
            if failure is not None:
                failure.written = written
                raise failure
        return written

    def write(self, record: dict[str, Any], accepted: bool) -> None:
        """Append one record as one line, at once (never interleaved, never half-read)."""
        if self.add(record, accepted):
            self.flush()

    def _append(self, path: Path, lines: list[bytes]) -> None:
        """All the lines with one write, or none of them (OSError, the file as it was)."""
        data = b"".join(lines)
        fd = self._fds[path]
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            while written < len(data):  # regular files write whole, but never assume
                written += os.write(fd, data[written:])
        except OSError:
            # Lines cut short would be a torn tail: cut back now, so the file stays whole
            # lines (those indices are simply asked again on the rerun).
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise

    def _append_each(self, path: Path, lines: list[bytes]) -> int:
        """After a batch did not fit: keep as many of its lines as still do, one by one."""
        for landed, line in enumerate(lines):
            try:
                self._append(path, [line])
            except OSError:
                return landed
        return len(lines)

    def close(self, in_order: bool = False) -> None:
        """Write what is queued, then let the files and the lock go; with ``in_order``, first
        sort both files by index (see the module's docstring). A sort that cannot be written
        (disk full) leaves the files as they were, whole, and raises OutputFull."""
        opened = bool(self._fds)  # files this writer holds the lock of, not another's
        try:
            if opened:
                self.flush()
            self._close_files()
            if in_order and opened:
                for path in (self.accepted_path, self.rejected_path):
                    self._sort(path)
        finally:
            self._release()

    @staticmethod
    def _sort(path: Path) -> None:
        if not path.exists():
            return
        try:
            put_in_index_order(path)
        except OSError as exc:
            raise OutputFull(exc.errno, write_failed(path, exc)) from None

    def _close_files(self) -> None:
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    def _release(self) -> None:
        self._close_files()
        self.lock.release()
