"""Turning a job's raw output bytes into lines fit for a Log widget.

Jobs write what a terminal would show: UTF-8 split across reads, ANSI colour
codes, and progress bars (tqdm) that redraw one line with carriage returns.
The assembler keeps what a terminal would leave visible: for each line, the
text after its last carriage return, and the unfinished line separately so a
progress bar can be shown live without flooding the log.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

# CSI sequences (colours, cursor moves), OSC sequences (titles, links), lone escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_line(text: str) -> str:
    """What a terminal would leave of one line: no escapes, the last redraw only."""
    text = _ANSI.sub("", text)
    if "\r" in text:
        parts = [part for part in text.split("\r") if part]
        text = parts[-1] if parts else ""
    return _CONTROL.sub("", text.expandtabs(4))


@dataclass
class LogAssembler:
    # Set when reading starts mid-file: the first line is a fragment, drop it.
    skip_first_line: bool = False
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )
    _partial: str = ""

    def feed(self, data: bytes) -> list[str]:
        """The complete lines ``data`` finishes, cleaned."""
        text = self._partial + self._decoder.decode(data)
        *complete, self._partial = text.split("\n")
        if self.skip_first_line and complete:
            complete = complete[1:]
            self.skip_first_line = False
        return [clean_line(line) for line in complete]

    @property
    def partial(self) -> str:
        """The line still being written (a progress bar, a prompt), cleaned."""
        return clean_line(self._partial)

    def reset(self) -> None:
        self._decoder.reset()
        self._partial = ""
        self.skip_first_line = False
