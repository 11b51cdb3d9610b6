"""The curation engine on real files: duplicates, contamination, formats, bad lines."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from magitui_core import prompts
from magitui_core.curation.benchmarks import load_benchmarks
from magitui_core.curation.decontaminate import SubstringIndex
from magitui_core.curation.formats import FormatError
from magitui_core.curation.pipeline import CurateOptions, CurationError, curate
from magitui_core.curation.reading import load_inputs
from tests.curation.humaneval_data import humaneval_problems
from tests.curation.synthetic import synthetic_records, write_jsonl

NO_DECON = CurateOptions(decontaminate="none", shuffle=False)


def read_out(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def report_of(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_src_instruct_output_matches_the_training_prompt_byte_for_byte(tmp_path: Path) -> None:
    problem = "Given a list `xs`, return its sum.\n\n```python\ndef total(xs): ...\n```  "
    solution = "```python\ndef total(xs):\n    return sum(xs)\n```\n"
    source = write_jsonl(
        tmp_path / "gen.jsonl", [{"seed": "s", "problem": problem, "solution": solution}]
    )
    out = tmp_path / "train.jsonl"
    curate([source], out, NO_DECON)
    [record] = read_out(out)
    assert set(record) == {"instruction", "response"}
    # What the original Magicoder pipeline trains on for this generated record.
    expected_instruction = "Write a solution to the following coding problem:\n" + problem
    expected_text = (
        "You are an exceptionally intelligent coding assistant that consistently delivers "
        "accurate and reliable responses to user instructions.\n\n@@ Instruction\n"
        + expected_instruction
        + "\n\n@@ Response\n"
        + solution
    )
    rendered = prompts.training_prompt(record["instruction"]) + record["response"]
    assert rendered.encode("utf-8") == expected_text.encode("utf-8")
    assert record["instruction"] == prompts.src_instruct_instruction(problem)


def test_exact_dedupe_ignores_whitespace_keeps_the_first_and_names_the_rule(
    tmp_path: Path,
) -> None:
    rows = [
        {"seed": "a = 1", "problem": "Add two numbers.", "solution": "def add(a, b): return a+b"},
        {"seed": "a  =  1", "problem": "Other problem.", "solution": "other"},  # same seed
        {"seed": "b = 2", "problem": "Add  two\nnumbers.", "solution": "x"},  # same problem
        {"seed": "c = 3", "problem": "New.", "solution": "def add(a, b):\n  return a+b"},
        {"seed": "d = 4", "problem": "Fine.", "solution": "fine"},
    ]
    source = write_jsonl(tmp_path / "gen.jsonl", rows)
    out, report = tmp_path / "train.jsonl", tmp_path / "report.json"
    result = curate([source], out, NO_DECON, report)
    assert [r["response"] for r in read_out(out)] == [rows[0]["solution"], "fine"]
    removed = {item["source"]: item for item in report_of(report)["removed"]}
    assert removed[f"{source}:2"]["reason"] == "duplicate seed"
    assert removed[f"{source}:3"]["reason"] == "duplicate problem"
    assert removed[f"{source}:4"]["reason"] == "duplicate solution"
    assert removed[f"{source}:3"]["detail"] == f"same problem as {source}:1"
    assert removed[f"{source}:2"]["record"] == rows[1]  # the original record, for review
    assert result.removed_by_reason == {
        "duplicate problem": 1,
        "duplicate seed": 1,
        "duplicate solution": 1,
    }


def test_empty_fields_are_cleaned_and_copied_solutions_only_on_request(tmp_path: Path) -> None:
    rows = [
        {"seed": "1", "problem": "  \n", "solution": "x"},
        {"seed": "2", "problem": "p", "solution": None},
        {
            "seed": "3",
            "problem": "Fix:\n```py\nprint( 1 )\n```",
            "solution": "```py\nprint(1)\n```",
        },
        {"seed": "4", "problem": "ok", "solution": "ok solution"},
    ]
    source = write_jsonl(tmp_path / "gen.jsonl", rows)
    result = curate([source], tmp_path / "o.jsonl", NO_DECON)
    reasons = [(r.record.source.rsplit(":", 1)[1], r.reason) for r in result.removed]
    assert reasons == [("1", "empty problem"), ("2", "empty solution")]
    assert len(result.kept) == 2  # upstream disabled the copies filter
    options = CurateOptions(decontaminate="none", shuffle=False, drop_copied_solutions=True)
    result = curate([source], tmp_path / "o.jsonl", options)
    reasons = [(r.record.source.rsplit(":", 1)[1], r.reason) for r in result.removed]
    assert reasons == [
        ("1", "empty problem"),
        ("2", "empty solution"),
        ("3", "solution copies problem"),
    ]
    assert len(result.kept) == 1


def test_near_duplicates_only_with_minhash(tmp_path: Path) -> None:
    rng = random.Random(3)
    vocab = [f"word{i}" for i in range(400)]
    base = " ".join(rng.choice(vocab) for _ in range(300))
    near = base.replace(base.split()[150], "changed", 1)  # one word differs
    other = " ".join(rng.choice(vocab) for _ in range(300))
    rows = [
        {"seed": "1", "problem": base, "solution": "sol " + base[:400]},
        {"seed": "2", "problem": near, "solution": "sol " + base[:400] + " x"},
        {"seed": "3", "problem": other, "solution": "sol " + other[:400]},
    ]
    source = write_jsonl(tmp_path / "gen.jsonl", rows)
    exact = curate([source], tmp_path / "a.jsonl", NO_DECON)
    assert len(exact.kept) == 3
    options = CurateOptions(dedupe="minhash", decontaminate="none", shuffle=False)
    minhash = curate([source], tmp_path / "b.jsonl", options)
    assert [(r.record.source, r.reason) for r in minhash.removed] == [
        (f"{source}:2", "near duplicate")
    ]
    assert minhash.removed[0].detail == f"similar to {source}:1"


def test_humaneval_contamination_is_found_with_the_passage_and_task(tmp_path: Path) -> None:
    problems = humaneval_problems()
    he0, he11 = problems["HumanEval/0"], problems["HumanEval/11"]
    clean = synthetic_records(5, seed=1)
    rows = [
        *clean[:2],
        # HumanEval/0's prompt in upper case: lower-cased, its docstring is in it.
        {"seed": "x", "problem": "Solve this:\n" + he0["prompt"].upper(), "solution": "pass"},
        *clean[2:4],
        {
            "seed": "y",
            "problem": "Implement string XOR.",
            "solution": "```python\n" + he11["prompt"] + he11["canonical_solution"] + "```",
        },
        # Reformatted: the substring search (upstream's) does not see it; --ngram would.
        {"seed": "z", "problem": " ".join(he0["prompt"].split()), "solution": "return 0"},
        clean[4],
    ]
    source = write_jsonl(tmp_path / "gen.jsonl", rows)
    out, report = tmp_path / "train.jsonl", tmp_path / "report.json"
    result = curate([source], out, CurateOptions(shuffle=False, decontaminate="humaneval"), report)
    assert len(result.kept) == 6
    removed = [
        (item["source"], item["reason"], item["detail"]) for item in report_of(report)["removed"]
    ]
    assert removed == [
        (f"{source}:3", "contaminated: human_eval_docstrings", "HumanEval/0"),
        (f"{source}:6", "contaminated: human_eval_docstrings", "HumanEval/11"),
    ]
    first = report_of(report)["removed"][0]
    assert first["matched_substring"] == he0["prompt"].split('"""')[1].strip()
    ngram = CurateOptions(shuffle=False, decontaminate="humaneval", decontaminate_method="ngram")
    assert len(curate([source], out, ngram).kept) == 5


def test_every_humaneval_prompt_is_caught_and_whitelisted_code_is_not() -> None:
    problems = humaneval_problems()
    index = SubstringIndex(load_benchmarks(["humaneval"]).passages)
    caught = sum(index.match(item["prompt"], "") is not None for item in problems.values())
    assert caught == 164
    # Upstream's whitelist: these canonical solutions are everyday code.
    assert index.match("def f(string):", "    return len(string)\n") is None
    # ... but its HumanEval/28 entry never matched, so this one is contamination.
    rank = index.match("def f(strings):", "    return ''.join(strings)\n")
    assert rank is not None and index.passages[rank].task == "HumanEval/28"


def test_other_formats_are_detected_combined_and_shuffled_with_a_seed(tmp_path: Path) -> None:
    evol = write_jsonl(
        tmp_path / "evol.jsonl", [{"instruction": "Reverse s.", "output": "s[::-1]"}]
    )
    alpaca = write_jsonl(
        tmp_path / "alpaca.jsonl",
        [
            {"instruction": "Add.", "input": "1 and 2", "output": "3"},
            {"instruction": "Say hi.", "input": "", "output": "hi"},
        ],
    )
    ready = write_jsonl(tmp_path / "ready.jsonl", [{"instruction": "Q?", "response": "A."}])
    gen = write_jsonl(tmp_path / "gen.jsonl", synthetic_records(20, seed=2))
    inputs = [evol, alpaca, ready, gen]
    loaded = load_inputs(inputs)
    assert [i.format for i in loaded.inputs] == [
        "evol-instruct",
        "codealpaca",
        "instruction-response",
        "src-instruct",
    ]
    ordered = curate(inputs, tmp_path / "a.jsonl", NO_DECON)
    assert [r.formatted() for r in ordered.kept[:4]] == [
        {"instruction": "Reverse s.", "response": "s[::-1]"},
        {"instruction": "Add.\nInput: 1 and 2", "response": "3"},
        {"instruction": "Say hi.", "response": "hi"},
        {"instruction": "Q?", "response": "A."},
    ]
    first = read_out(tmp_path / "a.jsonl")
    shuffled = CurateOptions(decontaminate="none", seed=7)
    curate(inputs, tmp_path / "b.jsonl", shuffled)
    curate(inputs, tmp_path / "c.jsonl", shuffled)
    curate(inputs, tmp_path / "d.jsonl", CurateOptions(decontaminate="none", seed=8))
    b, c, d = (read_out(tmp_path / name) for name in ("b.jsonl", "c.jsonl", "d.jsonl"))
    assert b == c  # same seed, same order
    assert b != first and b != d
    assert sorted(map(json.dumps, b)) == sorted(map(json.dumps, first))


def test_bad_lines_are_reported_skipped_and_counted(tmp_path: Path) -> None:
    good = synthetic_records(3)
    path = tmp_path / "gen.jsonl"
    with path.open("wb") as handle:
        handle.write((json.dumps(good[0]) + "\n").encode())
        handle.write(b"this is not json\n")
        handle.write(b'"a string"\n')
        handle.write(b'{"problem": "\xff\xfe broken"}\n')
        handle.write((json.dumps(good[1]) + "\n").encode())
        handle.write(b'{"seed": "s", "problem": "only a problem"}\n')
        handle.write((json.dumps(good[2]) + "\n").encode())
        handle.write(b'{"seed": "torn", "problem": "cut of')
    out, report = tmp_path / "train.jsonl", tmp_path / "report.json"
    result = curate([path], out, NO_DECON, report)
    assert len(result.kept) == 3
    bad = report_of(report)["bad_lines"]
    assert [line.split(": ", 1)[0] for line in bad] == [f"{path}:{n}" for n in (2, 3, 4, 6, 8)]
    assert bad[0].startswith(f"{path}:2: not JSON")
    assert bad[1] == f"{path}:3: a JSON str, not an object"
    assert "not UTF-8" in bad[2]
    assert bad[3] == f"{path}:6: missing solution for src-instruct (fields: problem, seed)"
    assert bad[4] == f"{path}:8: torn last line (no newline)"
    assert report_of(report)["summary"]["bad_lines"] == 5


def test_a_file_of_the_wrong_schema_names_its_fields_and_the_needed_ones(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "chat.jsonl", [{"messages": [], "id": 1}, {"messages": [], "id": 2}]
    )
    with pytest.raises(FormatError) as caught:
        curate([path], tmp_path / "o.jsonl", NO_DECON)
    message = str(caught.value)
    assert f"input {path}: records have fields id, messages" in message
    assert "problem+solution (src-instruct)" in message and "instruction+output" in message
    evol = write_jsonl(tmp_path / "evol.jsonl", [{"instruction": "i", "output": "o"}])
    with pytest.raises(FormatError, match=r"fields instruction, output — need problem\+solution"):
        curate(
            [evol], tmp_path / "o.jsonl", CurateOptions(fmt="src-instruct", decontaminate="none")
        )
    assert not (tmp_path / "o.jsonl").exists()


def test_pointing_at_the_wrong_place_is_refused(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "gen.jsonl", synthetic_records(2))
    before = source.read_bytes()
    with pytest.raises(CurationError, match="is also an input"):
        curate([source], source, NO_DECON)
    assert source.read_bytes() == before
    with pytest.raises(CurationError, match="no such file"):
        curate([tmp_path / "missing.jsonl"], tmp_path / "o.jsonl", NO_DECON)
    with pytest.raises(CurationError, match="a folder, not a file"):
        curate([tmp_path], tmp_path / "o.jsonl", NO_DECON)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("garbage\n")
    with pytest.raises(CurationError, match=r"no usable records .* nothing written"):
        curate([empty], tmp_path / "o.jsonl", NO_DECON)
