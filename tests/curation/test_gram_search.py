"""The batched search (hashed gram indexes + automaton) finds exactly what upstream's loop finds.

upstream's find_substrings tries every passage, in FILTER_OUT order, on one record at a time;
``SubstringIndex.match_many`` looks for all of them in a batch of records at once. These tests
give both texts built to trip the batched search: passages of every size class (indexed by
16-byte grams, by 8-byte grams, or in the automaton), occurrences at every alignment, at the
very start and end of a text and across the problem/solution join, passages inside and
overlapping one another, the same passage in two benchmarks, text that lower() lengthens or
spells by position, lone surrogates, empty passages and empty texts, and hashes forced to
collide.
"""

from __future__ import annotations

import random

import pytest

from magitui_core.curation import decontaminate
from magitui_core.curation.benchmarks import FILTER_OUT_KEYS, Passage
from magitui_core.curation.decontaminate import BATCH, GRAMS, SubstringIndex, as_bytes
from tests.curation import upstream_reference as upstream

LONG = "def solve(values):\n    total = 0\n    for value in values:\n        total += value\n"
# In FILTER_OUT order. Sizes in bytes: over 31 (16-byte grams), 15 to 30 (8-byte grams),
# under 15 (the automaton); prefixes shared past each size, passages inside passages.
FILTER_OUT: dict[str, list[str]] = {
    "mbpp_docstrings": [LONG + "    return total\n", "Count the Vowels in a STRING.", "xxxxx"],
    "mbpp_solutions": [LONG + "    return -total\n", LONG, "ΣΟΦΟΣ", "return sorted(set(l))"],
    "human_eval_docstrings": ["count the vowels in a string.", "Ünïcödé İstanbul", "zz top"],
    "human_eval_solutions": ["return len(values)", "xxxxxx", "Total += Value", "a" * 15],
    "apps_docstrings": [LONG + "    return total\n", "a" * 100, "ab" * 20, "\ud800 lone"],
    "gsm8k_questions": ["a" * 31, "Janet has 3 apples.", "apples. Janet", "janet has 3 app"],
    "ds_1000_prompts": ["\n\nsplit across", "end\n\nstart", "σοφος", "é" * 8, "😀 emoji 😀"],
}
NOISE = [
    "the", "values", "Janet", "has", "apples", "\n", "  ", "é", "İ", "ς", "σ", "x", "a", "z",
    "b", "😀", "\ud800", "ΣΟΦ", "\n\n",
]  # fmt: skip


def passages_of(filter_out: dict[str, list[str]]) -> list[Passage]:
    return [
        Passage(key, f"{key}#{i}", text)
        for key in FILTER_OUT_KEYS
        for i, text in enumerate(filter_out.get(key, []))
    ]


def naive(problem: str, solution: str, filter_out: dict[str, list[str]]) -> tuple | None:
    record = {"problem": problem, "solution": solution}
    keep, reason, matched = upstream.find_substrings(
        record, ["problem", "solution"], filter_out, return_matched=True
    )
    return None if keep else (reason, matched)


def verdicts(index: SubstringIndex, pairs: list[tuple[str, str]]) -> list[tuple | None]:
    found = []
    for rank in index.match_many(pairs):
        if rank is None:
            found.append(None)
        else:
            passage = index.passages[rank]
            found.append((f"{passage.key}_match", passage.text))
    return found


def random_pairs(rng: random.Random, count: int) -> list[tuple[str, str]]:
    pieces = [text for texts in FILTER_OUT.values() for text in texts]
    pairs = []
    for _ in range(count):
        parts = [rng.choice(NOISE) * rng.randint(0, 3)]  # shifts the alignment of what follows
        for _ in range(rng.randint(1, 8)):
            choice = rng.random()
            if choice < 0.3:
                piece = rng.choice(pieces)
                start = rng.randrange(len(piece))
                parts.append(piece[start : start + rng.randint(1, len(piece))])  # a fragment
            elif choice < 0.55:
                piece = rng.choice(pieces)
                parts.append(piece.upper() if rng.random() < 0.5 else piece.swapcase())
            else:
                parts.append(rng.choice(NOISE))
        text = "".join(parts)
        cut = rng.randint(0, len(text))
        pairs.append((text[:cut], text[cut:]))
    return pairs


def test_the_passages_cover_every_size_class() -> None:
    index = SubstringIndex(passages_of(FILTER_OUT))
    sizes = {gram_index.q: len(gram_index.passages) for gram_index in index.indexes}
    assert set(sizes) == set(GRAMS) and all(sizes.values())
    assert index.automaton is not None  # the shortest ones
    assert any(len(as_bytes(p.lower())) >= 31 for p in FILTER_OUT["apps_docstrings"])


def test_batches_give_the_loops_verdict_on_texts_built_to_trip_them() -> None:
    index = SubstringIndex(passages_of(FILTER_OUT))
    pairs = random_pairs(random.Random(11), 3 * BATCH + 17)
    expected = [naive(problem, solution, FILTER_OUT) for problem, solution in pairs]
    # One batch, batches of other sizes (texts move within the joined bytes), one at a time.
    assert verdicts(index, pairs) == expected
    for size in (1, 7, 100, BATCH):
        got = []
        for first in range(0, len(pairs), size):
            got += verdicts(index, pairs[first : first + size])
        assert got == expected, size
    # The set is not trivial: every benchmark wins some records and some are clean.
    reasons = {item[0] if item else "clean" for item in expected}
    assert reasons == {f"{key}_match" for key in FILTER_OUT_KEYS} | {"clean"}


@pytest.mark.parametrize("shift", range(17))
def test_a_passage_is_found_at_every_alignment_and_at_either_end(shift: int) -> None:
    filter_out = {"apps_docstrings": ["Q" * 7 + LONG], "gsm8k_questions": ["return sorted(l)!"]}
    index = SubstringIndex(passages_of(filter_out))
    pad = "p" * shift
    pairs = [
        (pad + "Q" * 7 + LONG, ""),  # at the end of the problem
        ("", "q" * 7 + LONG.upper() + pad),  # at the start of the solution
        (pad, "RETURN SORTED(L)!"),  # the whole solution
        (pad + "return sorted(l)", "!"),  # across the join: not there ("\n\n" between)
        (pad + "return sorted", "(l)!"),
    ]
    assert verdicts(index, pairs) == [naive(p, s, filter_out) for p, s in pairs]
    assert [v is not None for v in verdicts(index, pairs)] == [True, True, True, False, False]


def test_the_lowest_rank_wins_among_overlapping_and_nested_passages() -> None:
    filter_out = {
        "mbpp_docstrings": ["the second passage here, long enough to be indexed"],
        "human_eval_docstrings": ["first passage, long enough to be indexed by grams"],
        "apps_docstrings": ["first passage, long enough to be indexed by grams; the second"],
    }
    index = SubstringIndex(passages_of(filter_out))
    text = "first passage, long enough to be indexed by grams; the second passage here, long "
    text += "enough to be indexed"
    assert verdicts(index, [(text, "")]) == [naive(text, "", filter_out)]
    assert verdicts(index, [(text, "")])[0][0] == "mbpp_docstrings_match"


def test_case_rules_are_those_of_lower() -> None:
    filter_out = {"gsm8k_questions": ["ΣΟΦΟΣ and İstanbul, a city of the long passages"]}
    index = SubstringIndex(passages_of(filter_out))
    texts = [
        "ΣΟΦΟΣ AND İSTANBUL, A CITY OF THE LONG PASSAGES",
        "σοφος and i̇stanbul, a city of the long passages",  # lower()'s own spelling
        "σοφοσ and i̇stanbul, a city of the long passages",  # final sigma spelled as σ
        "σοφος and istanbul, a city of the long passages",  # İ lowers to i + dot
    ]
    pairs = [(text, "") for text in texts] + [("x" * 5 + texts[0], "")]
    assert verdicts(index, pairs) == [naive(p, s, filter_out) for p, s in pairs]
    assert [v is not None for v in verdicts(index, pairs)] == [True, True, False, False, True]


def test_empty_passages_and_empty_texts() -> None:
    filter_out = {"gsm8k_questions": ["Janet has three apples today"], "ds_1000_prompts": [""]}
    index = SubstringIndex(passages_of(filter_out))
    pairs = [("", ""), ("janet has three apples today", ""), ("nothing", "here")]
    assert verdicts(index, pairs) == [naive(p, s, filter_out) for p, s in pairs]
    assert index.match_many([]) == []
    assert SubstringIndex([]).match_many([("a", "b")]) == [None]


def test_hashes_that_all_collide_change_no_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every gram hashes alike: the table and the sorted hashes let everything through, and
    only the byte comparison decides."""
    monkeypatch.setattr(decontaminate, "_MIX", (0, 0))
    index = SubstringIndex(passages_of(FILTER_OUT))
    pairs = random_pairs(random.Random(12), 300)
    assert verdicts(index, pairs) == [naive(p, s, FILTER_OUT) for p, s in pairs]


def test_the_gram_index_alone_finds_a_passage_from_any_window() -> None:
    """Passages that share everything but one byte, wherever each one's window lands."""
    rng = random.Random(13)
    base = "".join(rng.choice("abc \n") for _ in range(200))
    filter_out = {
        "apps_docstrings": [base[:i] + "Z" + base[i + 1 :] for i in range(0, 200, 9)],
    }
    index = SubstringIndex(passages_of(filter_out))
    pairs = [
        (f"{'-' * shift}{text.upper()}", "")
        for shift, text in enumerate(filter_out["apps_docstrings"])
    ]
    pairs += [(base, ""), (base[:150], base[150:])]
    assert verdicts(index, pairs) == [naive(p, s, filter_out) for p, s in pairs]
