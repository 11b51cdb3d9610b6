"""What each record's verdict needs that depends on that record alone, worked out as it is read."""

from __future__ import annotations

import time
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from magitui_core.curation import dedupe
from magitui_core.curation.formats import Record

if TYPE_CHECKING:
    from magitui_core.curation.decontaminate import Matcher
    from magitui_core.curation.pipeline import CurateOptions


def emptiness(record: Record) -> int:
    """0, or 1 for an empty problem, 2 for an empty solution (whitespace counts as empty)."""
    if not record.problem or record.problem.isspace():
        return 1
    if not record.solution or record.solution.isspace():
        return 2
    return 0


class RecordFacts:
    """What each record's verdict needs that depends on that record alone, by input index.

    Filled batch by batch as records are read (the time each filter takes goes to its stage in
    ``timings``); then the pipeline applies the rules in processing order. Facts found by worker
    processes, each over a piece of the input, are ``merge``d in input order: they travel
    without the options and the matcher, which every process already has.
    """

    def __init__(
        self, options: CurateOptions, matcher: Matcher | None, timings: dict[str, float]
    ) -> None:
        self.options = options
        self.matcher = matcher
        self.timings = timings
        self.seed, self.problem, self.solution = array("q"), array("q"), array("q")
        self.has_seed = bytearray()
        self.empty = bytearray()
        self.copies = bytearray()
        self.minhashes: list[Any] = []
        self.ranks = array("l")  # the passage each record contains, -1 for none

    def add(self, batch: Sequence[Record]) -> None:
        options = self.options
        started = time.perf_counter()
        if options.dedupe != "none":
            self.has_seed.extend(record.has_seed for record in batch)
            self.seed.extend(dedupe.text_keys([record.seed for record in batch]))
            self.problem.extend(dedupe.text_keys([record.problem for record in batch]))
            self.solution.extend(dedupe.text_keys([record.solution for record in batch]))
            started = self._spent("exact dedupe", started)
        self.empty.extend(emptiness(record) for record in batch)
        started = self._spent("clean", started)
        if options.drop_copied_solutions:
            self.copies.extend(dedupe.copies_problem(record) for record in batch)
            started = self._spent("copied solutions", started)
        if options.dedupe == "minhash":
            self.minhashes.extend(dedupe.minhashes(batch))
            started = self._spent("near dedupe", started)
        if self.matcher is not None:
            ranks = self.matcher.match_many([(r.problem, r.solution) for r in batch])
            self.ranks.extend(-1 if rank is None else rank for rank in ranks)
            self._spent("decontaminate", started)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "options": None, "matcher": None}

    def merge(self, part: RecordFacts) -> None:
        """Append the facts of the records that follow, and add up the time they took."""
        for name in ("seed", "problem", "solution", "has_seed", "empty", "copies", "ranks"):
            getattr(self, name).extend(getattr(part, name))
        self.minhashes.extend(part.minhashes)
        for stage, seconds in part.timings.items():
            self.timings[stage] = self.timings.get(stage, 0.0) + seconds

    def worth_a_turn(self) -> bytes:
        """For each record, whether the rules can remove it or let it decide another's fate.

        Only a record that shares a dedupe key with another one can be a duplicate or make
        one; a record that shares none, is not empty, copies nothing and contains no passage
        is kept whatever comes before it, and what it leaves in the dedupe no other record
        ever looks up. Such records (nearly all) need no turn in the rules.
        """
        import numpy as np

        worth = np.frombuffer(self.empty, dtype=np.uint8) != 0
        if self.options.drop_copied_solutions:
            worth |= np.frombuffer(self.copies, dtype=np.uint8) != 0
        if self.matcher is not None:
            worth |= np.frombuffer(self.ranks, dtype=f"i{self.ranks.itemsize}") >= 0
        if self.options.dedupe != "none":
            has_seed = np.frombuffer(self.has_seed, dtype=np.uint8) != 0
            for keys, present in (
                (self.seed, has_seed),
                (self.problem, None),
                (self.solution, None),
            ):
                values = np.frombuffer(keys, dtype=np.int64)
                if present is not None:
                    values = values[present]
                _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
                shared = counts[inverse] > 1
                if present is None:
                    worth |= shared
                else:
                    worth[present] |= shared
        return worth.tobytes()

    def _spent(self, stage: str, started: float) -> float:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - started
        return now
