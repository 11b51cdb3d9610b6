"""Reading the end of a job's output.log as it grows, into lines for a log widget.

Shared by the Job detail and Train screens. Reading happens in their poll threads; the result
is applied to the widget on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from magitui.log_text import LogAssembler
from magitui_core.jobs.tail import FileFollower

# Start this far from the end of a big output.log: training logs reach gigabytes and only the
# recent part matters on screen.
INITIAL_TAIL_BYTES = 512 * 1024


@dataclass
class TailRead:
    lines: list[str] = field(default_factory=list)  # complete new lines, cleaned
    partial: str = ""  # the line still being written (a progress bar)
    reset: bool = False  # the file was replaced or truncated: drop what is shown


class OutputTail:
    def __init__(self, path: Path) -> None:
        self._follower = FileFollower(path, from_end=INITIAL_TAIL_BYTES)
        self._assembler = LogAssembler(skip_first_line=self._follower.offset > 0)

    def read(self) -> TailRead:
        data = self._follower.read_new()
        result = TailRead()
        if self._follower.was_reset:
            self._assembler.reset()
            result.reset = True
        result.lines = self._assembler.feed(data) if data else []
        result.partial = self._assembler.partial
        return result
