"""Every departure from upstream's recipe is an option, off by default, and named when on."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from magitui_core.curation.pipeline import CurateOptions, CurationError, curate, shuffled_order
from tests.conftest import magitui_cmd
from tests.curation.synthetic import synthetic_records, write_jsonl


def test_defaults_are_the_recipe_and_each_deviation_is_named() -> None:
    assert CurateOptions().deviations() == []
    cases = {
        "--no-shuffle": CurateOptions(shuffle=False),
        "--seed 7": CurateOptions(seed=7),
        "--dedupe none": CurateOptions(dedupe="none"),
        "--dedupe minhash (threshold 0.85)": CurateOptions(dedupe="minhash"),
        "--drop-copied-solutions": CurateOptions(drop_copied_solutions=True),
        "--decontaminate humaneval": CurateOptions(decontaminate="humaneval"),
        "--decontaminate-method ngram": CurateOptions(decontaminate_method="ngram"),
    }
    for name, options in cases.items():
        assert options.deviations() == [name]
    # Where the benchmarks come from is not a recipe choice.
    assert CurateOptions(benchmark_files={"mbpp": "m.jsonl"}).deviations() == []


def test_bad_option_values_name_the_option_and_the_choices() -> None:
    with pytest.raises(CurationError, match="--decontaminate-method fuzzy: unknown — one of"):
        CurateOptions(decontaminate_method="fuzzy").check()
    with pytest.raises(CurationError, match="--decontaminate mbpp,xyz: unknown benchmark xyz"):
        CurateOptions(decontaminate="mbpp,xyz").check()
    with pytest.raises(CurationError, match="--benchmark-file xyz=…: unknown benchmark xyz"):
        CurateOptions(benchmark_files={"xyz": "f"}).check()


def test_the_shuffle_is_random_seed_666_then_shuffle() -> None:
    state = random.getstate()
    try:
        items = list(range(1000))
        random.seed(666)
        random.shuffle(items)
    finally:
        random.setstate(state)
    assert shuffled_order(1000, CurateOptions()) == items
    assert shuffled_order(5, CurateOptions(shuffle=False)) == [0, 1, 2, 3, 4]


def test_seeds_compare_as_upstream_and_records_without_one_skip_that_check(
    tmp_path: Path,
) -> None:
    rows = [
        {"seed": "", "problem": "p1", "solution": "s1"},
        {"seed": "", "problem": "p2", "solution": "s2"},  # upstream: the same (empty) seed
        {"seed": None, "problem": "p3", "solution": "s3"},  # null reads as empty too
        {"problem": "p4", "solution": "s4"},  # no seed field: nothing to compare
        {"problem": "p5", "solution": "s5"},
    ]
    source = write_jsonl(tmp_path / "gen.jsonl", rows)
    result = curate(
        [source], tmp_path / "o.jsonl", CurateOptions(decontaminate="none", shuffle=False)
    )
    assert [(r.record.raw["problem"], r.reason) for r in result.removed] == [
        ("p2", "duplicate seed"),
        ("p3", "duplicate seed"),
    ]
    evol = write_jsonl(
        tmp_path / "evol.jsonl",
        [
            {"instruction": "Reverse s.", "output": "s[::-1]"},
            {"instruction": "Sort xs.", "output": "sorted(xs)"},
            {"instruction": "Reverse  s.", "output": "other"},
        ],
    )
    result = curate(
        [evol], tmp_path / "o.jsonl", CurateOptions(decontaminate="none", shuffle=False)
    )
    assert [r.reason for r in result.removed] == ["duplicate problem"]


def run(source: Path, out: Path, *options: str) -> dict:
    report = out.with_suffix(".report.json")
    command = [*magitui_cmd(), "preprocess", str(source), "--out", str(out)]
    done = subprocess.run(
        [*command, "--report", str(report), *options],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return {"report": json.loads(report.read_text()), "stderr": done.stderr, "out": out}


def test_the_command_names_the_deviations_in_force(isolated: Path) -> None:
    source = write_jsonl(isolated / "gen.jsonl", synthetic_records(40, seed=2, duplicate_every=9))
    plain = run(source, isolated / "a.jsonl")
    assert plain["report"]["recipe"]["as_upstream"] is True
    assert "recipe: magicoder, as upstream (no deviation options)" in plain["stderr"]
    deviant = run(
        source,
        isolated / "b.jsonl",
        "--no-shuffle",
        "--drop-copied-solutions",
        "--decontaminate-method",
        "ngram",
    )
    recipe = deviant["report"]["recipe"]
    assert recipe["as_upstream"] is False
    assert recipe["deviations"] == [
        "--no-shuffle",
        "--drop-copied-solutions",
        "--decontaminate-method ngram",
    ]
    assert (
        "recipe: magicoder with deviations: --no-shuffle, --drop-copied-solutions, "
        "--decontaminate-method ngram" in deviant["stderr"]
    )
    assert deviant["report"]["options"]["drop_copied_solutions"] is True
    # The same records either way; the recipe keeps them in the shuffled order.
    a = (isolated / "a.jsonl").read_text().splitlines()
    b = (isolated / "b.jsonl").read_text().splitlines()
    assert sorted(a) == sorted(b) and a != b


def test_help_names_every_option_and_says_which_are_deviations() -> None:
    done = subprocess.run(
        [*magitui_cmd(), "preprocess", "--help"], capture_output=True, text=True, timeout=60
    )
    text = " ".join(done.stdout.split())
    for option in (
        "--dedupe [exact|minhash|none]",
        "--drop-copied-solutions",
        "--decontaminate all|none|mbpp,humaneval,apps,gsm8k,ds1000",
        "--decontaminate-method [substring|ngram]",
        "--benchmark-file NAME=PATH",
        "--seed INTEGER",
        "--no-shuffle",
    ):
        assert option in text, option
    assert text.count("Deviation:") + text.count("(deviation)") >= 4
    assert "ngram = deviation" in text
