"""Decontamination: does a record contain a benchmark passage, and which one would upstream name?

``substring`` (the default) is Magicoder's find_substrings: a record is contaminated when a
passage, lower-cased, occurs in ``problem.lower() + "\\n\\n" + solution.lower()``; upstream loops
over benchmarks in FILTER_OUT order and their passages in order and reports the first that
occurs. Here every passage is looked for at once and the reported passage is the one of lowest
rank (benchmark order, then passage order) among all that occur: the same verdict and reason as
the loop, without one scan per passage. Records are searched in batches (``match_many``):

- a passage of at least 31 bytes (UTF-8) is found through a hashed index of 16-byte grams,
  one of 15 to 30 bytes through 8-byte grams (see ``_GramIndex``): numpy reads a whole batch of
  texts as grams in a few passes, and only a gram the index holds costs Python work;
- a shorter one goes into an Aho–Corasick automaton (pyahocorasick) that reads every text.

``ngram`` is magitui's earlier test, kept as an option: texts reduced to lower-case words share
a 10-word window with a passage, so a passage that was reformatted is still found.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from magitui_core.curation.benchmarks import BenchmarkError, Passage
from magitui_core.curation.formats import Record

NGRAM = 10
METHODS = ("substring", "ngram")
# Only this many leading characters of a passage go into the automaton; a hit on them is
# confirmed with startswith. A passage occurs exactly where its prefix occurs and the rest
# follows, so this changes nothing and keeps the automaton small.
PREFIX = 48
# Gram sizes of the hashed indexes, in bytes, longest first. A passage of at least 2q - 1 bytes
# is indexed by q-byte grams; one shorter than 2 * GRAMS[-1] - 1 bytes goes to the automaton.
GRAMS = (16, 8)
BATCH = 1024  # records searched together: about 2 MB of text per numpy pass
# Leading bytes of each passage among which its window is chosen, and the size of the table
# that counts how common each gram is there.
HEAD = 128
COUNT_BITS = 20
_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)  # odd 64-bit multipliers for the gram hash
_WORD = re.compile(r"\w+")

Progress = Callable[[int, int], None]
# (position in the records given, reason, detail, matched passage)
Contamination = tuple[int, str, str, str]


class Matcher(Protocol):
    passages: Sequence[Passage]

    def match(self, problem: str, solution: str) -> int | None:
        """The rank (index into ``passages``) of the passage to report, or None."""
        ...

    def match_many(self, pairs: Sequence[tuple[str, str]]) -> list[int | None]:
        """``match`` for each (problem, solution) pair, in order."""
        ...


def searched_text(problem: str, solution: str) -> str:
    """find_substrings' content for columns problem, solution."""
    return problem.lower() + "\n\n" + solution.lower()


def as_bytes(text: str) -> bytes:
    # UTF-8 keeps the substring relation: a text holds a passage exactly where its bytes hold
    # the passage's bytes. Lone surrogates (JSON allows them) are kept as their 3-byte forms,
    # which no other character's bytes can be confused with.
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Joined:
    data: bytes  # the bytes of every searched_text, one after another
    ends: list[int]  # where each one ends in data


def joined_texts(pairs: Sequence[tuple[str, str]]) -> Joined:
    """The bytes of searched_text(problem, solution) for each pair, joined. A run of ASCII
    pairs is lower-cased and encoded in one call (ASCII lower-cases character by character);
    any other pair on its own (str.lower() looks at neighbours, for the Greek final sigma)."""
    chunks: list[bytes] = []
    run: list[str] = []
    ends: list[int] = []
    size = 0
    for problem, solution in pairs:
        if problem.isascii() and solution.isascii():
            run += (problem, "\n\n", solution)
            size += len(problem) + 2 + len(solution)
        else:
            if run:
                chunks.append("".join(run).lower().encode("ascii"))
                run = []
            chunks.append(as_bytes(searched_text(problem, solution)))
            size += len(chunks[-1])
        ends.append(size)
    if run:
        chunks.append("".join(run).lower().encode("ascii"))
    return Joined(b"".join(chunks), ends)


class _GramIndex:
    """Passages of at least 2q - 1 bytes, found through q-byte grams read every q bytes.

    A passage is indexed by the q grams that start at offsets ``start`` to ``start + q - 1``
    of it: a window of 2q - 1 bytes, put where its grams are rare. A batch of texts is joined
    and read as the q-byte grams at every multiple of q. Where a passage occurs, its window
    covers 2q - 1 bytes of the joined texts, so one of those grams lies wholly inside the
    window, at an offset the index holds: the passage then starts that many bytes before the
    gram, which ``startswith`` within the record's own bytes confirms. So every occurrence is
    found, and only confirmed ones are reported. Grams are compared by a hash (a table of
    slots marked for the index's grams lets numpy discard almost every gram of a text); a hash
    that merely collides costs one failed ``startswith``.
    """

    def __init__(self, np: Any, q: int, members: Sequence[tuple[int, bytes]]) -> None:
        self.np = np
        self.q = q
        self.passages = dict(members)
        # About one slot in 32 to 64 of the table is marked: few grams of a text get past it.
        self.bits = min(26, max(10, (len(members) * q).bit_length() + 5))
        # Only the first HEAD bytes of each passage are considered for its window.
        heads = [data[:HEAD] for _, data in members]
        joined = b"".join(heads)
        size = len(joined)
        rows = size // 8 + 3
        padded = joined + bytes(rows * 8 + 8 - size)
        # words[i]: the 8 bytes at offset i, little-endian (8 views of the buffer, interleaved).
        words = np.stack(
            [np.frombuffer(padded, dtype="<u8", offset=r, count=rows) for r in range(8)], axis=1
        ).ravel()
        # How common each gram is among the heads (counted in a hashed table; only where a
        # window goes, never a verdict, rests on these counts). A gram common there, say
        # "write a function", is likely common in instruction data too, and each text that
        # holds one costs a check.
        positions = np.arange(size)
        counts_at = self._mixed(words, positions) >> np.uint64(64 - COUNT_BITS)
        counts_at = counts_at.view(np.int64)
        common = np.bincount(counts_at, minlength=1 << COUNT_BITS)[counts_at]
        step = 1
        while step < q:  # common[i] becomes the largest count among the q grams from i on
            common = np.maximum(common[:-step], common[step:])
            step *= 2
        begins = np.zeros(len(heads), dtype=np.int64)
        np.cumsum([len(head) for head in heads[:-1]], out=begins[1:])
        starts = np.array(
            [
                int(common[begin : begin + len(head) - 2 * q + 2].argmin())
                for begin, head in zip(begins.tolist(), heads, strict=True)
            ],
            dtype=np.int64,
        )
        # The index: q grams per passage, sorted by hash.
        offsets = (starts[:, None] + np.arange(q)).ravel()
        hashes = self._mixed(words, np.repeat(begins, q) + offsets)
        ranks = np.repeat(np.array([rank for rank, _ in members], dtype=np.int64), q)
        order = np.argsort(hashes, kind="stable")
        self.hashes = hashes[order]
        self.ranks: list[int] = ranks[order].tolist()
        self.offsets: list[int] = offsets[order].tolist()
        self.table = np.zeros(1 << self.bits, dtype=bool)
        self.table[self._slots(hashes)] = True

    def _mixed(self, words: Any, positions: Any) -> Any:
        """An unsigned 64-bit hash of the q-byte gram at each position (``words`` holds the 8
        bytes at every offset, as _GramIndex builds it)."""
        np = self.np
        mixed = words[positions] * np.uint64(_MIX[0])
        if self.q == 16:
            mixed ^= words[positions + 8] * np.uint64(_MIX[1])
        return mixed

    def _slots(self, hashes: Any) -> Any:
        """Table slots: the top bits of each hash."""
        shifted = hashes >> self.np.uint64(64 - self.bits)
        return shifted.view(self.np.int64)  # below 2**63 once shifted: a view, not a copy

    def search(self, joined: bytes, words: Any, mixed: Any, ends: list[int], best: list) -> None:
        """Lower ``best[i]`` to the lowest rank of an indexed passage in text i of ``joined``
        (text i ends at ``ends[i]``). ``words``: the 64-bit words of ``joined``, every 8 bytes;
        ``mixed``: each of them times _MIX[0] (what every gram size starts its hash with)."""
        np, q = self.np, self.q
        step = q // 8
        grams = len(words) // step
        if not grams:
            return
        hashed = mixed[: grams * step : step]
        if q == 16:
            hashed = hashed ^ (words[1 : grams * step : step] * np.uint64(_MIX[1]))
        # The table discards most grams; the sorted hashes then give the index entries (if any)
        # of the few left, all in numpy.
        marked = np.flatnonzero(self.table[self._slots(hashed)])
        wanted = hashed[marked]
        lows = np.searchsorted(self.hashes, wanted, side="left")
        highs = np.searchsorted(self.hashes, wanted, side="right")
        held = np.flatnonzero(highs > lows)
        if not len(held):
            return
        passages, ranks, offsets = self.passages, self.ranks, self.offsets
        for gram, low, high in zip(
            marked[held].tolist(), lows[held].tolist(), highs[held].tolist(), strict=True
        ):
            at = gram * q
            which = bisect.bisect_right(ends, at)
            begin = ends[which - 1] if which else 0
            for candidate in range(low, high):
                rank = ranks[candidate]
                current = best[which]
                if current is not None and current <= rank:
                    continue
                start = at - offsets[candidate]
                if start >= begin and joined.startswith(passages[rank], start, ends[which]):
                    best[which] = rank


class SubstringIndex:
    """Lower-cased exact substring search of every passage at once."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        try:
            import ahocorasick
            import numpy as np
        except ImportError as exc:
            raise BenchmarkError(
                f"decontamination needs {exc.name} — pip install 'pyahocorasick>=2.0' numpy"
            ) from None
        self.passages = passages
        self.lowered = [passage.text.lower() for passage in passages]
        self.always: int | None = None
        by_size: dict[int, list[tuple[int, bytes]]] = {q: [] for q in GRAMS}
        ranks_by_prefix: dict[str, list[int]] = {}
        for rank, text in enumerate(self.lowered):
            if not text:
                # "" is in every text: upstream would remove every record from here on.
                self.always = rank if self.always is None else self.always
                continue
            data = as_bytes(text)
            q = next((q for q in GRAMS if len(data) >= 2 * q - 1), None)
            if q is not None:
                by_size[q].append((rank, data))
            else:
                ranks_by_prefix.setdefault(text[:PREFIX], []).append(rank)
        self.np = np
        self.indexes = [_GramIndex(np, q, by_size[q]) for q in GRAMS if by_size[q]]
        self.automaton: Any = None
        if ranks_by_prefix:
            self.automaton = ahocorasick.Automaton()
            for prefix, ranks in ranks_by_prefix.items():
                self.automaton.add_word(prefix, (len(prefix), tuple(ranks)))
            self.automaton.make_automaton()

    def match(self, problem: str, solution: str) -> int | None:
        return self.match_many([(problem, solution)])[0]

    def match_many(self, pairs: Sequence[tuple[str, str]]) -> list[int | None]:
        best: list[int | None] = [self.always] * len(pairs)
        if self.indexes:
            self._search_grams(pairs, best)
        if self.automaton is not None:
            for which, (problem, solution) in enumerate(pairs):
                best[which] = self._automaton_match(searched_text(problem, solution), best[which])
        return best

    def _search_grams(self, pairs: Sequence[tuple[str, str]], best: list[int | None]) -> None:
        np = self.np
        joined = joined_texts(pairs)
        words = np.frombuffer(joined.data, dtype="<u8", count=len(joined.data) // 8)
        mixed = words * np.uint64(_MIX[0])
        for index in self.indexes:
            index.search(joined.data, words, mixed, joined.ends, best)

    def _automaton_match(self, content: str, best: int | None) -> int | None:
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

    def match_many(self, pairs: Sequence[tuple[str, str]]) -> list[int | None]:
        return [self.match(problem, solution) for problem, solution in pairs]


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
    for first in range(0, total, BATCH):
        batch = records[first : first + BATCH]
        ranks = matcher.match_many([(record.problem, record.solution) for record in batch])
        for position, rank in enumerate(ranks, start=first):
            if rank is not None:
                passage = matcher.passages[rank]
                removed.append((position, reason_for(passage), passage.task, passage.text))
        if progress is not None:
            progress(first + len(batch), total)
    return removed
