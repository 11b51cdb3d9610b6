"""Decontamination: does a record contain a benchmark passage, and which one would upstream name?

``substring`` (the default) is Magicoder's find_substrings: a record is contaminated when a
passage, lower-cased, occurs in ``problem.lower() + "\\n\\n" + solution.lower()``; upstream loops
over benchmarks in FILTER_OUT order and their passages in order and reports the first that
occurs. Here one Aho–Corasick automaton finds every occurrence in one pass over the text, and
the reported passage is the one of lowest rank (benchmark order, then passage order): the same
verdict and reason as the loop, at the cost of one scan instead of one per passage.

``ngram`` is magitui's earlier test, kept as an option: texts reduced to lower-case words share
a 10-word window with a passage, so a passage that was reformatted is still found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from magitui_core.curation.benchmarks import BenchmarkError, Passage
from magitui_core.curation.formats import Record

NGRAM = 10
METHODS = ("substring", "ngram")
# Only this many leading characters of each passage go into the automaton; a hit on them is
# confirmed with startswith. This keeps the automaton small (APPS questions run to kilobytes)
# and changes nothing: a passage occurs exactly where its prefix occurs and the rest follows.
PREFIX = 48
_WORD = re.compile(r"\w+")

Progress = Callable[[int, int], None]
# (position in the records given, reason, detail, matched passage)
Contamination = tuple[int, str, str, str]


class Matcher(Protocol):
    passages: Sequence[Passage]

    def match(self, problem: str, solution: str) -> int | None:
        """The rank (index into ``passages``) of the passage to report, or None."""
        ...


def searched_text(problem: str, solution: str) -> str:
    """find_substrings' content for columns problem, solution."""
    return problem.lower() + "\n\n" + solution.lower()


class SubstringIndex:
    """Lower-cased exact substring search of every passage at once."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        try:
            import ahocorasick
        except ImportError:
            raise BenchmarkError(
                "decontamination needs pyahocorasick — pip install 'pyahocorasick>=2.0'"
            ) from None
        self.passages = passages
        self.lowered = [passage.text.lower() for passage in passages]
        ranks_by_prefix: dict[str, list[int]] = {}
        self.always: int | None = None
        for rank, text in enumerate(self.lowered):
            if not text:
                # "" is in every text: upstream would remove every record from here on.
                self.always = rank if self.always is None else self.always
                continue
            ranks_by_prefix.setdefault(text[:PREFIX], []).append(rank)
        self.automaton: Any = ahocorasick.Automaton()
        for prefix, ranks in ranks_by_prefix.items():
            self.automaton.add_word(prefix, (len(prefix), tuple(ranks)))
        self.empty = not ranks_by_prefix
        if not self.empty:
            self.automaton.make_automaton()

    def match(self, problem: str, solution: str) -> int | None:
        best = self.always
        if self.empty:
            return best
        content = searched_text(problem, solution)
        lowered = self.lowered
        for end, (length, ranks) in self.automaton.iter(content):
            start = end - length + 1
            for rank in ranks:  # ascending: the first confirmed one is this prefix's best
                if best is not None and rank >= best:
                    break
                if content.startswith(lowered[rank], start):
                    best = rank
                    break
        return best


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class NgramIndex:
    """Every 10-word window of every passage, mapped to the lowest rank it occurs in."""

    def __init__(self, passages: Sequence[Passage], n: int = NGRAM) -> None:
        self.passages = passages
        self.n = n
        self.grams: dict[tuple[str, ...], int] = {}
        for rank, passage in enumerate(passages):
            # A passage under n words ("return len(string)") has no window: it would flag
            # ordinary code everywhere rather than contamination.
            for gram in self._windows(words(passage.text)):
                self.grams.setdefault(gram, rank)

    def _windows(self, tokens: list[str]) -> zip[tuple[str, ...]]:
        return zip(*(tokens[i:] for i in range(self.n)), strict=False)

    def match(self, problem: str, solution: str) -> int | None:
        tokens = words(problem + "\n" + solution)
        # isdisjoint walks the windows in C; only a hit pays for finding the lowest rank.
        if self.grams.keys().isdisjoint(self._windows(tokens)):
            return None
        ranks = (self.grams.get(gram) for gram in self._windows(tokens))
        return min(rank for rank in ranks if rank is not None)


def build_matcher(method: str, passages: Sequence[Passage]) -> Matcher:
    if method == "substring":
        return SubstringIndex(passages)
    if method == "ngram":
        return NgramIndex(passages)
    raise BenchmarkError(f"--decontaminate-method {method}: unknown — one of {', '.join(METHODS)}")


def reason_for(passage: Passage) -> str:
    return f"contaminated: {passage.key}"


def contaminated(
    records: Sequence[Record], matcher: Matcher, progress: Progress | None = None
) -> list[Contamination]:
    """(position, reason, task, passage) for each record that contains a benchmark passage."""
    removed = []
    total = len(records)
    for position, record in enumerate(records):
        rank = matcher.match(record.problem, record.solution)
        if rank is not None:
            passage = matcher.passages[rank]
            removed.append((position, reason_for(passage), passage.task, passage.text))
        if progress is not None and (position % 2000 == 1999 or position == total - 1):
            progress(position + 1, total)
    return removed
