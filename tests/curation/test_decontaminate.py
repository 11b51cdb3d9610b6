"""The one-pass substring search gives exactly upstream's loop verdict, and the n-gram option."""

from __future__ import annotations

import random
from collections import Counter

from magitui_core.curation.benchmarks import FILTER_OUT_KEYS, Passage, load_benchmarks
from magitui_core.curation.decontaminate import PREFIX, NgramIndex, SubstringIndex
from tests.curation import upstream_reference as upstream
from tests.curation.humaneval_data import humaneval_problems

SHARED = "def solve(values):\n    total = 0\n    for value in values:\n        total += value\n"

# Built to trip a one-pass search: passages sharing a prefix longer than the automaton keeps,
# passages inside other passages, the same text in two benchmarks, case variants of one another,
# text that lower() lengthens (İ) or spells by position (Σ), and a passage with the join in it.
FILTER_OUT: dict[str, list[str]] = {
    "mbpp_docstrings": [SHARED + "    return total\n", "Count the Vowels in a STRING.", "xxxxx"],
    "mbpp_solutions": [SHARED + "    return -total\n", SHARED, "ΣΟΦΟΣ"],
    "human_eval_docstrings": ["count the vowels in a string.", "Ünïcödé İstanbul", "zz top"],
    "human_eval_solutions": ["return len(values)", "xxxxxx", "Total += Value"],
    "apps_docstrings": [SHARED + "    return total\n", "a" * 100],
    "gsm8k_questions": ["a" * 60, "Janet has 3 apples.", "apples. Janet"],
    "ds_1000_prompts": ["\n\nsplit across", "end\n\nstart", "σοφος"],
}
NOISE = ["the", "values", "Janet", "has", "apples", "\n", "  ", "é", "İ", "ς", "σ", "x", "a", "z"]


def naive(problem: str, solution: str, filter_out: dict[str, list[str]]) -> tuple | None:
    """Upstream's find_substrings over problem and solution: (reason, passage) or None."""
    record = {"problem": problem, "solution": solution}
    keep, reason, matched = upstream.find_substrings(
        record, ["problem", "solution"], filter_out, return_matched=True
    )
    return None if keep else (reason, matched)


def passages_of(filter_out: dict[str, list[str]]) -> list[Passage]:
    return [
        Passage(key, f"{key}#{i}", text)
        for key in FILTER_OUT_KEYS
        for i, text in enumerate(filter_out.get(key, []))
    ]


def verdict(index: SubstringIndex, problem: str, solution: str) -> tuple | None:
    rank = index.match(problem, solution)
    if rank is None:
        return None
    passage = index.passages[rank]
    return (f"{passage.key}_match", passage.text)


def random_texts(rng: random.Random, count: int) -> list[tuple[str, str]]:
    pieces = [text for texts in FILTER_OUT.values() for text in texts]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 8)):
            choice = rng.random()
            if choice < 0.3:
                piece = rng.choice(pieces)
                start = rng.randrange(len(piece))
                parts.append(piece[start : start + rng.randint(1, len(piece))])  # a fragment
            elif choice < 0.5:
                piece = rng.choice(pieces)
                parts.append(piece.upper() if rng.random() < 0.5 else piece.swapcase())
            else:
                parts.append(rng.choice(NOISE))
        text = "".join(parts)
        cut = rng.randint(0, len(text))
        texts.append((text[:cut], text[cut:]))
    return texts


def test_one_pass_gives_the_loops_verdict_and_reason_on_a_set_built_for_it() -> None:
    assert len(SHARED) > PREFIX  # the shared prefix is longer than what the automaton holds
    index = SubstringIndex(passages_of(FILTER_OUT))
    texts = random_texts(random.Random(5), 4000)
    reasons: Counter[str] = Counter()
    for problem, solution in texts:
        expected = naive(problem, solution, FILTER_OUT)
        assert verdict(index, problem, solution) == expected, (problem, solution)
        reasons[expected[0] if expected else "clean"] += 1
    # Every benchmark wins some records, and some records are clean: the set is not trivial.
    assert set(reasons) == {f"{key}_match" for key in FILTER_OUT_KEYS} | {"clean"}, reasons
    assert min(reasons.values()) >= 20, reasons


def test_the_join_and_the_case_rules_are_upstreams() -> None:
    index = SubstringIndex(passages_of(FILTER_OUT))
    # The passage spans problem and solution, joined by a blank line as upstream joins them.
    assert verdict(index, "it was the end", "start again") == (
        "ds_1000_prompts_match",
        "end\n\nstart",
    )
    # lower() of "ΣΟΦΟΣ" ends in a final sigma: "σοφοσ" is not it, "σοφος" is.
    assert verdict(index, "σοφοσ", "") is None
    assert verdict(index, "ΣΟΦΟΣ!", "") == ("mbpp_solutions_match", "ΣΟΦΟΣ")
    # Same text in two benchmarks: the earlier benchmark is named.
    text = "x = 1\n" + SHARED + "    return total\n"
    assert verdict(index, text, "") == ("mbpp_docstrings_match", SHARED + "    return total\n")


def test_an_empty_passage_matches_everything_as_in_upstream() -> None:
    filter_out = {"gsm8k_questions": ["Janet"], "ds_1000_prompts": [""]}
    index = SubstringIndex(passages_of(filter_out))
    for problem, solution in [("janet", "x"), ("nothing", "here"), ("", "")]:
        assert verdict(index, problem, solution) == naive(problem, solution, filter_out)
    assert SubstringIndex([]).match("anything", "at all") is None


def test_real_benchmark_passages_give_the_loops_verdict() -> None:
    """HumanEval's 325 passages against prompts, solutions and their fragments."""
    benchmarks = load_benchmarks(["humaneval"])
    index = SubstringIndex(benchmarks.passages)
    filter_out: dict[str, list[str]] = {key: [] for key in FILTER_OUT_KEYS}
    for passage in benchmarks.passages:
        filter_out[passage.key].append(passage.text)
    rng = random.Random(8)
    problems = list(humaneval_problems().values())
    for item in problems:
        prompt, solution = item["prompt"], item["canonical_solution"]
        cut = rng.randrange(len(prompt))
        for text in (prompt, prompt[cut:], solution, prompt[:cut] + solution.upper()):
            got = verdict(index, text, "")
            expected = naive(text, "", filter_out)
            assert got == expected, item["task_id"]


def test_ngram_option_finds_reformatted_passages_the_substring_search_misses() -> None:
    he0 = humaneval_problems()["HumanEval/0"]
    benchmarks = load_benchmarks(["humaneval"])
    reformatted = "Solve this:\n" + " ".join(he0["prompt"].upper().split())
    assert SubstringIndex(benchmarks.passages).match(reformatted, "pass") is None
    ngram = NgramIndex(benchmarks.passages)
    rank = ngram.match(reformatted, "pass")
    assert rank is not None
    assert ngram.passages[rank].task == "HumanEval/0"
    assert ngram.passages[rank].key == "human_eval_docstrings"
    # A passage under ten words is not a window: everyday code stays.
    assert ngram.match("def f(string):", "    return len(string)\n") is None
