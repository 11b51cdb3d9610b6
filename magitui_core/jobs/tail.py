"""Following growing files by byte offset, without holding them in memory."""

from __future__ import annotations

import os
from pathlib import Path

CHUNK = 64 * 1024


class FileFollower:
    """Returns the bytes appended to a file since the last call.

    A file that shrank or was replaced (new inode) is read again from the start;
    ``was_reset`` tells the caller to drop what it buffered.
    """

    def __init__(self, path: Path, from_end: int | None = None) -> None:
        """Follow ``path`` from its start, or from ``from_end`` bytes before its current end."""
        self.path = path
        self.offset = 0
        self._inode: int | None = None
        self.was_reset = False
        if from_end is not None:
            try:
                st = path.stat()
                self.offset, self._inode = max(0, st.st_size - from_end), st.st_ino
            except FileNotFoundError:
                pass

    def read_new(self, limit: int = 16 * CHUNK) -> bytes:
        self.was_reset = False
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return b""
        if (self._inode is not None and st.st_ino != self._inode) or st.st_size < self.offset:
            self.offset = 0
            self.was_reset = True
        self._inode = st.st_ino
        if st.st_size == self.offset:
            return b""
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read(min(limit, st.st_size - self.offset))
        self.offset += len(data)
        return data


def last_lines(
    path: Path, count: int, max_bytes: int = 256 * 1024, end: int | None = None
) -> list[str]:
    """The last ``count`` lines of a text file (up to byte ``end``), reading only its end."""
    try:
        size = path.stat().st_size if end is None else end
    except FileNotFoundError:
        return []
    with path.open("rb") as handle:
        start = max(0, size - max_bytes)
        handle.seek(start)
        data = handle.read(size - start)
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # the first line is probably cut
    return [line.rstrip("\r") for line in lines[-count:]] if count > 0 else []


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
