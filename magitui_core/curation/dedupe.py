"""Duplicate removal, as Magicoder's clean_data.py does it, plus optional filters.

Exact (filter_same_seed_problem_solution): all whitespace removed, then a record whose seed,
problem or solution was already seen is rejected (the first one is kept), naming the rule that
rejected it. An empty seed is a value like any other, as upstream. Options, off by default:
a solution whose code block repeats one of the problem's (filter_same_codeblocks, which
upstream wrote and then disabled), and near duplicates by MinHash LSH (datasketch) over word
5-grams of problem + solution.

What each record needs (``record_keys``, ``copies_problem``, ``minhashes``) depends on that
record alone, so it can be worked out as records are read; only ``ExactDedupe.check`` and
``NearDedupe.check`` depend on the order, and they keep a few integers per record, not texts.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from magitui_core.curation.formats import Record

DUPLICATE_SEED = "duplicate seed"
DUPLICATE_PROBLEM = "duplicate problem"
DUPLICATE_SOLUTION = "duplicate solution"
COPIES_PROBLEM = "solution copies problem"
NEAR_DUPLICATE = "near duplicate"
COPIES_DETAIL = "a code block of the solution repeats the problem's"

Progress = Callable[[int, int], None]
CHUNK = 1000  # records hashed per MinHash.bulk call
# (index into the input, reason, detail) for each record removed.
Removal = tuple[int, str, str]


def squash(text: str) -> str:
    return "".join(text.split())


# The ASCII characters str.split() splits on: with only ASCII in a text, deleting these bytes
# is squash() done in C.
_ASCII_WHITESPACE = bytes(code for code in range(128) if chr(code).isspace())
FIELDS = ("seed", "problem", "solution")
REASONS = (DUPLICATE_SEED, DUPLICATE_PROBLEM, DUPLICATE_SOLUTION)
# A record's keys: seed (None where the record has no seed field), problem, solution.
Keys = tuple[int | None, int, int]


def text_key(text: str) -> int:
    """A hash of the UTF-8 bytes of ``squash(text)``: equal squashed texts, equal keys."""
    if text.isascii():
        return hash(text.encode("ascii").translate(None, _ASCII_WHITESPACE))
    return hash(squash(text).encode("utf-8", "surrogatepass"))


def text_keys(texts: Iterable[str]) -> list[int]:
    """``text_key`` of each text: the same keys, with the ASCII case inlined for speed."""
    blank = _ASCII_WHITESPACE
    return [
        hash(text.encode("ascii").translate(None, blank)) if text.isascii() else text_key(text)
        for text in texts
    ]


def record_keys(record: Record) -> Keys:
    # Upstream compares every seed, "" included. A record with no seed field at all
    # (evol-instruct, codealpaca: formats upstream never deduped) has no seed to compare.
    seed = text_key(record.seed) if record.has_seed else None
    return seed, text_key(record.problem), text_key(record.solution)


class ExactDedupe:
    """filter_same_seed_problem_solution, fed one record at a time in processing order.

    It holds keys (hashes), not texts. Two records that share a key are compared on their
    squashed texts, read through ``record_at``, before one is called a duplicate; so two texts
    whose hashes collide are still told apart, and the verdicts are those of comparing texts.
    """

    def __init__(self, record_at: Callable[[int], Record]) -> None:
        self.record_at = record_at
        self.first: tuple[dict[int, int], ...] = ({}, {}, {})  # per field: key -> first index
        # Later holders of a key whose text differs from the first's (a hash collision).
        self.others: dict[tuple[int, int], list[int]] = {}
        # The record last checked, where its texts had to be compared (read at most once).
        self.record: Record | None = None

    def check(self, index: int, keys: Keys) -> tuple[str, int] | None:
        """(reason, index of the earlier record) if ``index`` repeats one; else remember it.

        After a repeat, ``record`` is the record of ``index`` (read to compare its texts)."""
        seeds, problems, solutions = self.first
        seed, problem, solution = keys
        new = (seed is None or seed not in seeds) and problem not in problems
        if new and solution not in solutions:  # no key seen before, as for most records
            if seed is not None:
                seeds[seed] = index
            problems[problem] = index
            solutions[solution] = index
            return None
        self.record = None
        for field, key in enumerate(keys):
            if key is not None:
                earlier = self._holder(field, key, index)
                if earlier is not None:
                    return REASONS[field], earlier
        for field, key in enumerate(keys):
            if key is not None:
                if key in self.first[field]:
                    self.others.setdefault((field, key), []).append(index)
                else:
                    self.first[field][key] = index
        return None

    def _holder(self, field: int, key: int, index: int) -> int | None:
        first = self.first[field].get(key)
        if first is None:
            return None
        if self.record is None:
            self.record = self.record_at(index)
        text = squash(getattr(self.record, FIELDS[field]))
        for earlier in (first, *self.others.get((field, key), ())):
            if squash(getattr(self.record_at(earlier), FIELDS[field])) == text:
                return earlier
        return None


def exact_duplicates(records: Sequence[Record], progress: Progress | None = None) -> list[Removal]:
    """Records whose seed, problem or solution (whitespace removed) came earlier."""
    dedupe = ExactDedupe(records.__getitem__)
    removed: list[Removal] = []
    for index, record in enumerate(records):
        found = dedupe.check(index, record_keys(record))
        if found is not None:
            reason, earlier = found
            removed.append((index, reason, duplicate_detail(reason, records[earlier].source)))
        if progress is not None and index % 5000 == 4999:
            progress(index + 1, len(records))
    return removed


def duplicate_detail(reason: str, earlier: str) -> str:
    """What a duplicate's report says, e.g. "same problem as gen.jsonl:3"."""
    return f"same {FIELDS[REASONS.index(reason)]} as {earlier}"


def code_blocks(text: str) -> list[str]:
    """The contents of ``` fenced blocks, in order."""
    blocks: list[str] = []
    start: int | None = None
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.strip().startswith("```"):
            if start is None:
                start = index
            else:
                blocks.append("".join(lines[start + 1 : index]))
                start = None
    return blocks


def copies_problem(record: Record) -> bool:
    """filter_same_codeblocks' test: a solution block equal to a problem block (no whitespace)."""
    if "```" not in record.problem or "```" not in record.solution:
        return False
    problem_blocks = {squash(b) for b in code_blocks(record.problem)}
    return any(squash(b) in problem_blocks for b in code_blocks(record.solution))


def copied_solutions(records: Sequence[Record]) -> list[Removal]:
    return [
        (index, COPIES_PROBLEM, COPIES_DETAIL)
        for index, record in enumerate(records)
        if copies_problem(record)
    ]


_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = 5) -> set[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def minhashes(records: Sequence[Record], num_perm: int = 64) -> list[Any]:
    """One MinHash per record, of the word 5-grams of problem + solution."""
    from datasketch import MinHash  # heavy-ish (numpy, scipy): only when asked

    # crc32 is a fast, stable 32-bit hash (datasketch's default sha1 is 2x slower here).
    return MinHash.bulk(
        [shingles(r.problem + "\n" + r.solution) for r in records],
        num_perm=num_perm,
        hashfunc=zlib.crc32,
    )


class NearDedupe:
    """MinHash LSH, fed one record at a time in processing order: a record is a near duplicate
    when its estimated Jaccard similarity to an earlier kept one reaches ``threshold``."""

    def __init__(self, threshold: float = 0.85, num_perm: int = 64) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"minhash threshold {threshold} — must be in (0, 1], e.g. 0.85")
        from datasketch import MinHashLSH

        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)

    def check(self, position: int, minhash: Any) -> int | None:
        """The position of the earliest kept record it is similar to; else it is kept."""
        matches = self.lsh.query(minhash)
        if matches:
            return int(min(matches))
        self.lsh.insert(position, minhash)
        return None


def near_duplicates(
    records: Sequence[Record],
    threshold: float = 0.85,
    num_perm: int = 64,
    progress: Progress | None = None,
) -> list[Removal]:
    """Records whose estimated Jaccard similarity to an earlier kept one reaches ``threshold``."""
    dedupe = NearDedupe(threshold, num_perm)
    removed: list[Removal] = []
    total = len(records)
    for start in range(0, total, CHUNK):
        # Chunks keep the shingle sets of only CHUNK records in memory at once.
        chunk = minhashes(records[start : start + CHUNK], num_perm)
        for index, minhash in enumerate(chunk, start=start):
            first = dedupe.check(index, minhash)
            if first is not None:
                removed.append((index, NEAR_DUPLICATE, f"similar to {records[first].source}"))
        if progress is not None:
            progress(min(total, start + CHUNK), total)
    return removed
