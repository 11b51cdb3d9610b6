"""A training job's story, rebuilt from its events: curves, latest numbers, checkpoints.

Fed incrementally (``feed``) by whoever tails events.jsonl, so reopening the app redraws the
whole curve from the file and then keeps up with new lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainSeries:
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)  # the newest metric event
    total_steps: int | None = None
    world_size: int | None = None
    packing: bool = False
    rows: int | None = None
    truncated: int | None = None
    checkpoints: list[str] = field(default_factory=list)
    final: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    effective: dict[str, Any] | None = None  # the settings the run trains with (run card's)

    def feed(self, events: list[dict[str, Any]]) -> bool:
        """Take new events; True when anything shown changed."""
        changed = False
        for event in events:
            kind = event.get("type")
            if kind == "metric" and isinstance(event.get("step"), int):
                if self.steps and event["step"] <= self.steps[-1]:
                    # A resumed run restarts from its checkpoint: drop the overtaken tail.
                    keep = sum(1 for s in self.steps if s < event["step"])
                    del self.steps[keep:], self.losses[keep:], self.lrs[keep:]
                self.steps.append(event["step"])
                self.losses.append(float(event.get("loss") or 0.0))
                self.lrs.append(float(event.get("lr") or 0.0))
                self.last = event
                self.total_steps = event.get("total") or self.total_steps
            elif kind == "progress" and event.get("phase") == "train":
                self.total_steps = event.get("total") or self.total_steps
                self.world_size = event.get("world_size") or self.world_size
                self.packing = bool(event.get("packing"))
            elif kind == "log" and "checkpoint" in event:
                if event["checkpoint"] not in self.checkpoints:
                    self.checkpoints.append(event["checkpoint"])
            elif kind == "log" and isinstance(event.get("effective"), dict):
                self.effective = event["effective"]
            elif kind == "log" and "rows" in event:
                self.rows, self.truncated = event.get("rows"), event.get("truncated")
            elif kind == "done":
                self.final = event.get("final")
            elif kind == "error":
                self.error = str(event.get("message", ""))
            elif kind == "warning":
                self.warnings.append(str(event.get("message", "")))
            else:
                continue
            changed = True
        return changed

    def checkpoints_on_disk(self) -> list[str]:
        """Checkpoints still present (save_total_limit deletes older ones)."""
        return [c for c in self.checkpoints if Path(c).is_dir()]
