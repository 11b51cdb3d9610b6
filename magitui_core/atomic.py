"""Atomic file writes: a reader never sees half a file, a crash never loses the old one."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO


@contextlib.contextmanager
def atomic_writer(path: Path, mode: int | None = None) -> Iterator[TextIO]:
    """A text handle whose content replaces ``path`` only when the block ends without error.

    The data goes to a temp file in the same folder, is fsynced, then renamed over ``path``.
    """
    with _atomic_handle(path, mode, "w") as handle:
        yield handle


@contextlib.contextmanager
def atomic_binary_writer(path: Path, mode: int | None = None) -> Iterator[BinaryIO]:
    """``atomic_writer`` for bytes."""
    with _atomic_handle(path, mode, "wb") as handle:
        yield handle


@contextlib.contextmanager
def _atomic_handle(path: Path, mode: int | None, open_mode: str) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        # mkstemp makes 0600 files; keep an existing file's mode, else the usual 0644.
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        encoding = None if "b" in open_mode else "utf-8"
        with os.fdopen(fd, open_mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and a rename."""
    with atomic_writer(path, mode) as handle:
        handle.write(text)


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)
