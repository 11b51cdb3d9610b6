"""Turning engine values into short, stable text for tables and status panels.

Times are shown as absolute local dates, never "x minutes ago": the screen does
not have to tick to stay true, and snapshot tests stay deterministic.
"""

from __future__ import annotations

import os
import time
from typing import Any

from magitui_core.jobs.status import JobState

NONE = "—"

STATE_GLYPHS: dict[JobState, str] = {
    JobState.STARTING: "○",
    JobState.RUNNING: "●",
    JobState.SUCCEEDED: "✓",
    JobState.FAILED: "✗",
    JobState.STOPPED: "■",
    JobState.CRASHED: "✗",
}

# Theme variable that colours each state; resolved against the theme in force,
# so the light and high-contrast themes get their own reds and greens.
STATE_COLOURS: dict[JobState, str] = {
    JobState.STARTING: "primary",
    JobState.RUNNING: "primary",
    JobState.SUCCEEDED: "success",
    JobState.FAILED: "error",
    JobState.STOPPED: "warning",
    JobState.CRASHED: "error",
}


def format_timestamp(seconds: float | None) -> str:
    """A local date and time to the minute, e.g. 2025-03-04 14:03."""
    if seconds is None:
        return NONE
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def format_short_timestamp(seconds: float | None) -> str:
    """Month, day and time: enough for a job's end in a narrow column."""
    if seconds is None:
        return NONE
    return time.strftime("%m-%d %H:%M", time.localtime(seconds))


def format_clock(seconds: float | None) -> str:
    if seconds is None:
        return NONE
    return time.strftime("%H:%M:%S", time.localtime(seconds))


def format_duration(seconds: float | None) -> str:
    """Two units at most: 12s, 3m 05s, 2h 03m, 4d 07h."""
    if seconds is None:
        return NONE
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def state_label(state: JobState) -> str:
    return f"{STATE_GLYPHS[state]} {state.value}"


def counted(count: int, word: str) -> str:
    """ "1 row", "2 rows", "1,024 rows": a count with its noun, singular where it is one."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters, marking the cut with an ellipsis."""
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…"


def shorten_path(path: str, width: int) -> str:
    """``~`` for the home folder, then keep the end of the path (the part that tells
    folders apart) when space is short."""
    home = os.path.expanduser("~")
    if home not in ("", "/") and (path == home or path.startswith(home + os.sep)):
        path = "~" + path[len(home) :]
    if len(path) <= width:
        return path
    if width <= 1:
        return "…"[:width]
    return "…" + path[-(width - 1) :]


def format_event(event: dict[str, Any]) -> str:
    """One line for an events.jsonl entry: time, type, then what matters for that type."""
    kind = str(event.get("type", "?"))
    stamp = event.get("time")
    when = format_clock(stamp) if isinstance(stamp, (int, float)) else "--:--:--"
    fields = {k: v for k, v in event.items() if k not in ("type", "time")}
    if kind == "progress" and "done" in fields:
        total = fields.pop("total", None)
        done = fields.pop("done")
        detail = f"{done}/{total}" if total is not None else str(done)
        message = fields.pop("message", None)
        if message:
            detail += f" {message}"
    elif "message" in fields:
        detail = str(fields.pop("message"))
    else:
        detail = ""
    rest = " ".join(f"{k}={_compact(v)}" for k, v in fields.items())
    body = " ".join(part for part in (detail, rest) if part)
    return f"{when} {kind:<8} {body}".rstrip()


def _compact(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return truncate(" ".join(str(v) for v in value), 60)
    return truncate(str(value), 60)
