"""Curation of files written by the generator's own writer, as a run holds them."""

from __future__ import annotations

import json
from pathlib import Path

from magitui_core import prompts
from magitui_core.curation.data_rows import REJECTED, check, load_data_file
from magitui_core.curation.pipeline import CurateOptions, curate
from magitui_core.generation.output import GenerationOutput
from tests.curation.humaneval_data import humaneval_problems

ANSWER = """[Problem Description]
{problem}

[Solution]
{solution}
"""


def write_generation(out: Path) -> list[dict]:
    """Teacher answers parsed by the one prompt module, written the way generation writes."""
    he = humaneval_problems()["HumanEval/7"]
    answers = [
        ("Write `area(w, h)` returning w*h.", "```python\ndef area(w, h):\n    return w * h\n```"),
        ("Write `area(w,  h)` returning w*h.", "def area(w, h): return h * w"),  # same problem
        ("Filter strings:\n" + he["prompt"], "```python\n" + he["canonical_solution"] + "```"),
        ("Reverse a linked list in place.", "```python\ndef rev(node):\n    ...\n```"),
    ]
    output = GenerationOutput(out)
    output.open({"model": "teacher", "count": 5})
    accepted = []
    for index, (problem, solution) in enumerate(answers):
        parsed = prompts.parse_problem_solution(ANSWER.format(problem=problem, solution=solution))
        assert parsed is not None
        record = {
            "index": index,
            "seed": f"seed {index}",
            "problem": parsed[0],
            "solution": parsed[1],
        }
        output.write(record, True)
        accepted.append(record)
    output.write({"index": 4, "seed": "s", "reason": "unparseable", "raw": "Sure!"}, False)
    output.close()
    return accepted


def test_a_generation_output_is_curated_and_shown_with_its_rejects(tmp_path: Path) -> None:
    generated = tmp_path / "data" / "generated.jsonl"
    accepted = write_generation(generated)
    out, report = tmp_path / "data" / "train.jsonl", tmp_path / "data" / "report.json"
    result = curate([generated], out, CurateOptions(shuffle=False), report)
    assert [r.reason for r in result.removed] == [
        "duplicate problem",
        "contaminated: human_eval_docstrings",
    ]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == [
        {
            "instruction": prompts.src_instruct_instruction(accepted[i]["problem"]),
            "response": accepted[i]["solution"],
        }
        for i in (0, 3)
    ]
    data = load_data_file(generated)
    check(data, CurateOptions(shuffle=False))
    assert [row.status for row in data.rows] == ["kept", "removed", "removed", "kept", REJECTED]
    assert data.rows[2].detail == "HumanEval/7"
    assert data.benchmarks is not None and [c.name for c in data.benchmarks.checked] == [
        "humaneval"
    ]
    # With curation's shuffle (the screen's default) one of the two duplicates goes.
    check(data)
    statuses = [row.status for row in data.rows]
    assert statuses[2:] == ["removed", "kept", REJECTED]
    assert sorted(statuses[:2]) == ["kept", "removed"]
    assert data.rows[4].reason == "unparseable" and data.rows[4].raw["seed"] == "s"


def test_a_formatted_file_is_shown_by_its_problem(tmp_path: Path) -> None:
    generated = tmp_path / "generated.jsonl"
    write_generation(generated)
    out = tmp_path / "train.jsonl"
    curate([generated], out, CurateOptions(shuffle=False, decontaminate="none"))
    data = load_data_file(out)
    assert data.format == "instruction-response"
    assert [row.title for row in data.rows] == [
        "Write `area(w, h)` returning w*h.",
        "Filter strings:",
        "Reverse a linked list in place.",
    ]
