"""Results kept with the run: listing, deltas against the base slot, per-task outcomes and
what changed, read from real evaluations of the scripted model."""

from __future__ import annotations

from pathlib import Path

import pytest

from magitui_core.eval.benchmarks import Problem, load_benchmark
from magitui_core.eval.engine import EvalSettings, run_eval
from magitui_core.eval.results import (
    change,
    delta,
    latest_score,
    list_results,
    read_result,
    slot_folder,
    task_outcomes,
)
from tests.eval.scripted_model import MODEL, ScriptedModel

LIMIT = 10
BASE_WRONG = {"HumanEval/0": "wrong", "HumanEval/1": "wrong", "HumanEval/2": "hang"}
TUNED_WRONG = {"HumanEval/1": "wrong", "HumanEval/5": "wrong"}


@pytest.fixture(scope="module")
def problems() -> list[Problem]:
    return load_benchmark("humaneval")


def evaluate(problems: list[Problem], script: dict[str, str], out: Path) -> None:
    with ScriptedModel(problems, script) as server:
        run_eval(
            EvalSettings(
                base_url=server.base_url, model=MODEL, out=out, limit=LIMIT, mode="base", timeout=1
            )
        )


def test_slots_deltas_and_changes(problems: list[Problem], tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert list_results(run) == [] and latest_score(run) is None
    base_dir = slot_folder(run, "base", "humaneval")
    tuned_dir = slot_folder(run, "tuned", "humaneval")
    assert base_dir == run / "evals" / "base-humaneval"
    assert slot_folder(run, "tuned", "humaneval+").name == "tuned-humanevalplus"
    evaluate(problems, BASE_WRONG, base_dir)
    assert latest_score(run) == "base 70.0 %"  # no delta for the base itself
    evaluate(problems, TUNED_WRONG, tuned_dir)
    # Another folder (as `magitui eval --run` names them) is compared with the base too.
    evaluate(problems, {}, run / "evals" / "scripted-coder-humaneval")

    results = list_results(run)
    assert [r.name for r in results] == [
        "scripted-coder-humaneval",
        "tuned-humaneval",
        "base-humaneval",
    ]
    other, tuned, base = results
    assert (base.slot, tuned.slot, other.slot) == ("base", "tuned", None)
    assert base.pass1 == pytest.approx(0.7) and tuned.pass1 == pytest.approx(0.8)
    assert delta(tuned, results) == pytest.approx(0.1)
    assert delta(other, results) == pytest.approx(0.3)
    assert delta(base, results) is None
    assert latest_score(run) == "scripted-coder 100.0 % (+30.0)"
    # The base evaluated again (finishing last) does not hide the compared model's score.
    evaluate(problems, BASE_WRONG, base_dir)
    assert list_results(run)[0].slot == "base"
    assert latest_score(run) == "scripted-coder 100.0 % (+30.0)"

    before, after = task_outcomes(base_dir), task_outcomes(tuned_dir)
    assert len(before) == len(after) == LIMIT
    assert before["HumanEval/2"].result == "timed out"
    assert before["HumanEval/2"].verdict == "failed"
    assert after["HumanEval/0"].verdict == "passed"
    assert after["HumanEval/0"].solution.startswith(problems[0].prompt)
    changes = {task: change(before[task], after[task]) for task in after}
    assert {t for t, c in changes.items() if c == "fixed"} == {"HumanEval/0", "HumanEval/2"}
    assert {t for t, c in changes.items() if c == "broken"} == {"HumanEval/5"}


def test_unreadable_results_are_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "run" / "evals" / "base-humaneval"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text("{not json")
    assert read_result(folder) is None
    assert list_results(tmp_path / "run") == []
    assert task_outcomes(folder) == {}


def test_an_unfinished_evaluation_resumes_and_a_finished_one_starts_afresh(
    problems: list[Problem], tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    settings = EvalSettings(base_url="", model=MODEL, out=out, limit=LIMIT, mode="base", timeout=1)
    with ScriptedModel(problems, {"HumanEval/4": "wrong"}) as server:
        settings.base_url = server.base_url
        server.failing = {"HumanEval/3", "HumanEval/7"}
        first = run_eval(settings)
        assert first["state"] == "incomplete" and first["request_failed"] == 2
        assert first["tasks"]["HumanEval/3"] is None
        server.failing = set()
        server.requests.clear()
        second = run_eval(settings)
        # Only the two failed requests went out again; the rest was kept.
        assert sorted(r["prompt"] for r in server.requests) == sorted(
            problems[i].prompt for i in (3, 7)
        )
        assert second["state"] == "completed" and second["pass@1"] == pytest.approx(0.9)
        assert not (out / "samples.partial.jsonl").exists()
        # A completed result is evaluated afresh (the model may have been trained again).
        server.requests.clear()
        run_eval(settings)
        assert len(server.requests) == LIMIT

        # What a stopped run leaves: its settings and a partial file, torn at the end.
        kept = (out / "samples.jsonl").read_text().splitlines()[:6]
        (out / "samples.jsonl").unlink()
        (out / "summary.json").unlink()
        (out / "samples.partial.jsonl").write_text("\n".join(kept) + '\n{"task_id": "Hum')
        server.requests.clear()
        third = run_eval(settings)
        assert len(server.requests) == LIMIT - 6
        assert third["pass@1"] == pytest.approx(0.9)

        # Other settings never reuse earlier samples.
        (out / "summary.json").unlink()
        server.requests.clear()
        run_eval(EvalSettings(server.base_url, MODEL, out, limit=LIMIT, mode="base", timeout=2))
        assert len(server.requests) == LIMIT
