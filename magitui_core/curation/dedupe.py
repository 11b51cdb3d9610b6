"""Duplicate removal, as Magicoder's clean_data.py does it, plus optional filters.

Exact (filter_same_seed_problem_solution): all whitespace removed, then a record whose seed,
problem or solution was already seen is rejected (the first one is kept), naming the rule that
rejected it. An empty seed is a value like any other, as upstream. Options, off by default:
a solution whose code block repeats one of the problem's (filter_same_codeblocks, which
upstream wrote and then disabled), and near duplicates by MinHash LSH (datasketch) over word
5-grams of problem + solution.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence

from magitui_core.curation.formats import Record

DUPLICATE_SEED = "duplicate seed"
DUPLICATE_PROBLEM = "duplicate problem"
DUPLICATE_SOLUTION = "duplicate solution"
COPIES_PROBLEM = "solution copies problem"
NEAR_DUPLICATE = "near duplicate"

Progress = Callable[[int, int], None]
CHUNK = 1000  # records hashed per MinHash.bulk call
# (index into the input, reason, detail) for each record removed.
Removal = tuple[int, str, str]


def squash(text: str) -> str:
    return "".join(text.split())


def exact_duplicates(records: Sequence[Record], progress: Progress | None = None) -> list[Removal]:
    """Records whose seed, problem or solution (whitespace removed) came earlier."""
    seeds: dict[str, str] = {}
    problems: dict[str, str] = {}
    solutions: dict[str, str] = {}
    removed: list[Removal] = []
    for index, record in enumerate(records):
        # Upstream compares every seed, "" included. A record with no seed field at all
        # (evol-instruct, codealpaca: formats upstream never deduped) has no seed to compare.
        seed = squash(record.seed) if record.has_seed else None
        problem = squash(record.problem)
        solution = squash(record.solution)
        if seed is not None and seed in seeds:
            removed.append((index, DUPLICATE_SEED, f"same seed as {seeds[seed]}"))
        elif problem in problems:
            removed.append((index, DUPLICATE_PROBLEM, f"same problem as {problems[problem]}"))
        elif solution in solutions:
            removed.append((index, DUPLICATE_SOLUTION, f"same solution as {solutions[solution]}"))
        else:
            if seed is not None:
                seeds[seed] = record.source
            problems[problem] = record.source
            solutions[solution] = record.source
        if progress is not None and index % 5000 == 4999:
            progress(index + 1, len(records))
    return removed


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
        (index, COPIES_PROBLEM, "a code block of the solution repeats the problem's")
        for index, record in enumerate(records)
        if copies_problem(record)
    ]


_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = 5) -> set[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def near_duplicates(
    records: Sequence[Record],
    threshold: float = 0.85,
    num_perm: int = 64,
    progress: Progress | None = None,
) -> list[Removal]:
    """Records whose estimated Jaccard similarity to an earlier kept one reaches ``threshold``."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"minhash threshold {threshold} — must be in (0, 1], e.g. 0.85")
    from datasketch import MinHash, MinHashLSH  # heavy-ish (numpy, scipy): only when asked

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    removed: list[Removal] = []
    total = len(records)
    for start in range(0, total, CHUNK):
        chunk = records[start : start + CHUNK]
        # crc32 is a fast, stable 32-bit hash (datasketch's default sha1 is 2x slower here);
        # chunks keep the shingle sets of only CHUNK records in memory at once.
        minhashes = MinHash.bulk(
            [shingles(r.problem + "\n" + r.solution) for r in chunk],
            num_perm=num_perm,
            hashfunc=zlib.crc32,
        )
        for offset, minhash in enumerate(minhashes):
            index = start + offset
            matches = lsh.query(minhash)
            if matches:
                first = min(matches)
                removed.append((index, NEAR_DUPLICATE, f"similar to {records[first].source}"))
            else:
                lsh.insert(index, minhash)
        if progress is not None:
            progress(min(total, start + CHUNK), total)
    return removed
