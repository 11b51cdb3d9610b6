"""`magitui preprocess` as a user runs it, and the same engine as a detached job."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from magitui_core.jobs.events import read_events
from magitui_core.jobs.manager import JobManager
from tests.conftest import magitui_cmd
from tests.curation.humaneval_data import humaneval_problems
from tests.curation.synthetic import synthetic_records, write_jsonl


def magitui(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*magitui_cmd(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def generated_file(path: Path) -> Path:
    rows = synthetic_records(60, seed=5, duplicate_every=20)  # 2 duplicate problems
    he = humaneval_problems()["HumanEval/2"]
    rows.append({"seed": "z", "problem": he["prompt"], "solution": he["canonical_solution"]})
    write_jsonl(path, rows)
    with path.open("a") as handle:
        handle.write("{not json}\n")
    return path


def test_summary_table_report_and_exit_code(isolated: Path) -> None:
    source = generated_file(isolated / "gen.jsonl")
    out, report = isolated / "train.jsonl", isolated / "report.json"
    result = magitui("preprocess", str(source), "--out", str(out), "--report", str(report))
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert "removed: duplicate problem" in table
    assert "removed: contaminated: human_eval_docstrings" in table
    assert re.search(r"│ kept\s+│\s+58 │", table), table
    assert f"skipped {source}:62: not JSON" in result.stderr
    data = json.loads(report.read_text())
    assert data["summary"]["kept"] == 58
    assert len(out.read_text().splitlines()) == 58
    assert sorted(item["reason"] for item in data["removed"]) == [
        "contaminated: human_eval_docstrings",
        "duplicate problem",
        "duplicate problem",
    ]
    assert data["recipe"] == {"name": "magicoder", "as_upstream": True, "deviations": []}
    assert [item["name"] for item in data["benchmarks"]["checked"]] == ["humaneval"]
    assert [item["name"] for item in data["benchmarks"]["not_checked"]] == [
        "mbpp",
        "apps",
        "gsm8k",
        "ds1000",
    ]


def test_run_option_keeps_every_path_inside_the_run(isolated: Path) -> None:
    assert magitui("runs", "create", "demo").returncode == 0
    data = isolated / "workspace" / "runs" / "demo" / "data"
    generated_file(data / "generated.jsonl")
    result = magitui("preprocess", "generated.jsonl", "--run", "demo", "--no-shuffle")
    assert result.returncode == 0, result.stderr
    assert len((data / "train.jsonl").read_text().splitlines()) == 58
    assert json.loads((data / "curation-report.json").read_text())["summary"]["read"] == 61
    # No input named: the run's generated.jsonl, as `generate --run` writes it.
    (data / "train.jsonl").unlink()
    result = magitui("preprocess", "--run", "demo")
    assert result.returncode == 0, result.stderr
    assert len((data / "train.jsonl").read_text().splitlines()) == 58
    bare = magitui("preprocess")
    assert bare.returncode != 0 and "give IN.jsonl (or --run NAME" in bare.stderr


def test_bad_requests_are_one_clear_line(isolated: Path) -> None:
    source = generated_file(isolated / "gen.jsonl")
    empty = isolated / "empty.jsonl"
    empty.write_text("")
    junk = isolated / "junk.jsonl"
    junk.write_text("not json\n{torn\n")
    cases = [
        (["preprocess", str(source)], "--out FILE is required"),
        (["preprocess", "nope.jsonl", "--out", "o.jsonl"], "input nope.jsonl: no such file"),
        (
            ["preprocess", str(source), "--out", "o.jsonl", "--decontaminate", "humaneval,mbpp"],
            "mbpp: no file given and HF_HUB_OFFLINE=1 is set — download mbpp.jsonl",
        ),
        (
            ["preprocess", str(source), "--out", "o.jsonl", "--decontaminate", "humaneval,foo"],
            "--decontaminate humaneval,foo: unknown benchmark foo — use mbpp, humaneval, apps",
        ),
        (
            ["preprocess", str(source), "--out", "o.jsonl", "--benchmark-file", "mbpp"],
            "--benchmark-file mbpp: expected NAME=PATH",
        ),
        (
            ["preprocess", str(source), "--out", "o.jsonl", "--benchmark-file", "mbpp=no.jsonl"],
            "mbpp file no.jsonl: no such file — download mbpp.jsonl",
        ),
        (
            ["preprocess", str(source), "--out", "o.jsonl", "--format", "evol-instruct"],
            "need instruction+output (evol-instruct)",
        ),
        (["preprocess", str(empty), "--out", "o.jsonl"], "the input is empty — generate into it"),
        (["preprocess", str(junk), "--out", "o.jsonl"], f"(first: {junk}:1: "),
    ]
    for args, message in cases:
        result = magitui(*args)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not Path("o.jsonl").exists()


def test_curation_runs_as_a_job_with_progress_and_a_summary(
    jobs: JobManager, tmp_path: Path
) -> None:
    source = generated_file(tmp_path / "gen.jsonl")
    out = tmp_path / "train.jsonl"
    command = [
        sys.executable,
        "-m",
        "magitui_core.curation.preprocess",
        str(source),
        "--out",
        str(out),
    ]
    job = jobs.start(command, kind="preprocess", name="curate")
    deadline = time.monotonic() + 60
    while jobs.get(job.id).is_live and time.monotonic() < deadline:
        time.sleep(0.1)
    finished = jobs.get(job.id)
    assert finished.state.value == "succeeded", finished.tail()
    events = read_events(finished.events_path)
    stages = {e["message"] for e in events if e["type"] == "progress"}
    assert {"benchmarks", "decontaminate", "exact dedupe", "write"} <= stages
    [done] = [e for e in events if e["type"] == "done"]
    assert done["kept"] == 58 and done["bad_lines"] == 1
    assert done["removed_by_reason"] == {
        "duplicate problem": 2,
        "contaminated: human_eval_docstrings": 1,
    }
    assert done["deviations"] == [] and done["benchmarks_checked"] == {"humaneval": 325}
    assert sorted(done["benchmarks_not_checked"]) == ["apps", "ds1000", "gsm8k", "mbpp"]
    logs = [e["message"] for e in events if e["type"] == "log"]
    assert logs[0] == "recipe: magicoder, as upstream (no deviation options)"
    assert logs[1].startswith("checked humaneval: human_eval_docstrings 164")
    warnings = [e for e in events if e["type"] == "warning"]
    assert [w["benchmark"] for w in warnings[:4]] == ["mbpp", "apps", "gsm8k", "ds1000"]
    assert all("--benchmark-file" in w["fix"] for w in warnings[:4])
    assert warnings[4]["message"].startswith(f"skipped {source}:62: not JSON")


def test_preprocess_never_loads_the_ui_or_training_libraries(isolated: Path) -> None:
    source = generated_file(isolated / "gen.jsonl")
    code = (
        "import sys; sys.argv = ['magitui', *sys.argv[1:]]\n"
        "from magitui.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'torch', 'transformers', 'deepspeed', 'datasets'))\n"
        "print('LOADED', bad, file=sys.stderr)"
    )
    args = ["preprocess", str(source), "--out", str(isolated / "o.jsonl"), "--dedupe", "minhash"]
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert "LOADED []" in result.stderr, result.stderr
    assert len((isolated / "o.jsonl").read_text().splitlines()) == 58


def test_a_failing_curation_job_says_why_in_its_events(jobs: JobManager, tmp_path: Path) -> None:
    source = generated_file(tmp_path / "gen.jsonl")
    out = tmp_path / "train.jsonl"
    command = [
        sys.executable,
        "-m",
        "magitui_core.curation.preprocess",
        str(source),
        "--out",
        str(out),
    ]
    job = jobs.start([*command, "--decontaminate", "humaneval,mbpp"], kind="preprocess")
    deadline = time.monotonic() + 60
    while jobs.get(job.id).is_live and time.monotonic() < deadline:
        time.sleep(0.1)
    finished = jobs.get(job.id)
    assert finished.state.value == "failed"
    errors = [e["message"] for e in read_events(finished.events_path) if e["type"] == "error"]
    assert any("mbpp: no file given" in message for message in errors)
    assert not out.exists()
    # `magitui jobs` says why it failed, without opening the job.
    listing = magitui("jobs").stdout
    (row,) = [line for line in listing.splitlines() if line.startswith(job.id)]
    assert "failed" in row and "mbpp: no file given" in row


def test_a_second_curation_of_the_same_output_is_refused(isolated: Path) -> None:
    """While another process writes train.jsonl, a curation into it is refused in one line
    naming the holder, and the file is left as it was."""
    from magitui_core.jobs.locks import OutputLock

    source = generated_file(isolated / "gen.jsonl")
    out = isolated / "train.jsonl"
    out.write_text('{"instruction": "kept", "response": "as it was"}\n')
    with OutputLock(out):
        refused = magitui("preprocess", str(source), "--out", str(out))
    assert refused.returncode == 1
    assert (
        f"another magitui is writing {out}" in refused.stderr and "Traceback" not in refused.stderr
    )
    assert out.read_text() == '{"instruction": "kept", "response": "as it was"}\n'
    assert magitui("preprocess", str(source), "--out", str(out)).returncode == 0
