"""Small local copies of MBPP, APPS, GSM8K and DS-1000, shaped like the real files.

Nothing here is benchmark data: every text is made up, but each file has the real layout
(MBPP's mbpp.jsonl with task ids 1–600 and CRLF code, APPS' test.jsonl, GSM8K's test.jsonl,
DS-1000's ds1000_data/<Library>/<Insertion|Completion>/q<N>/prompt.txt).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

NOUNS = ("apple", "ledger", "matrix", "router", "bitmap", "invoice", "sensor", "queue")


@dataclass
class BenchmarkFiles:
    mbpp: Path
    apps: Path
    gsm8k: Path
    ds1000: Path
    mbpp_rows: list[dict]
    apps_rows: list[dict]
    gsm8k_rows: list[dict]
    ds1000_prompts: dict[str, str]  # "Pandas/q3" -> the prompt.txt text

    def as_options(self) -> dict[str, str]:
        return {
            "mbpp": str(self.mbpp),
            "apps": str(self.apps),
            "gsm8k": str(self.gsm8k),
            "ds1000": str(self.ds1000),
        }

    def as_cli(self) -> list[str]:
        args = []
        for name, path in self.as_options().items():
            args += ["--benchmark-file", f"{name}={path}"]
        return args

    def mbpp_task(self, task_id: int) -> dict:
        return next(row for row in self.mbpp_rows if row["task_id"] == task_id)


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def mbpp_rows(last_id: int = 600) -> list[dict]:
    rows = []
    for task_id in range(1, last_id + 1):
        noun = NOUNS[task_id % len(NOUNS)]
        rows.append(
            {
                "task_id": task_id,
                "text": f"Write a function to count the {noun} entries of list number {task_id}.",
                # MBPP's code uses CRLF line ends; upstream searches them as they are.
                "code": f"def count_{noun}_{task_id}(items):\r\n    return len(items) + "
                f"{task_id}\r\n",
                "test_list": [f"assert count_{noun}_{task_id}([]) == {task_id}"],
            }
        )
    return rows


def apps_rows(count: int = 60, padding: int = 0) -> list[dict]:
    """``count`` questions; ``padding`` adds that many sentences (real ones run to ~1.5 KB)."""
    rows = []
    for i in range(count):
        noun = NOUNS[i % len(NOUNS)]
        extra = "".join(f" Constraint {j}: 1 <= a_{j} <= 10^{j % 9 + 1}." for j in range(padding))
        question = (
            f"\nThere are N {noun}s in a row, numbered 1 to N (case {i}). Find the longest "
            f"run of equal {noun}s and print its length.{extra}\n\n-----Input-----\nN, then N "
            "integers.\n"
        )
        rows.append({"problem_id": 4000 + i, "question": question, "solutions": "[]"})
    rows.append({"problem_id": 4999, "question": "   \n", "solutions": "[]"})  # stripped away
    rows.append(
        {
            "problem_id": 5000,
            "question": "Given İstanbul's ΣΟΦΟΣ map, count the routes — print 0 if none.",
            "solutions": "[]",
        }
    )
    return rows


def gsm8k_rows(count: int = 40) -> list[dict]:
    rows = [
        {
            "question": f"Janet has {i + 3} {NOUNS[i % len(NOUNS)]}s and gives away {i}. "
            "How many are left?",
            "answer": f"{i + 3} - {i} = 3\n#### 3",
        }
        for i in range(count)
    ]
    rows.append(
        {"question": "  A train travels 60 km in 1.5 hours; what is its speed?  ", "answer": "40"}
    )
    return rows


def ds1000_prompt(library: str, number: int, marker: str) -> str:
    return (
        f"Problem:\nI have a {library} object holding {NOUNS[number % len(NOUNS)]} data, "
        f"question {number}.\n\nHow do I pivot it so each key becomes a column?\n\nA:\n<code>\n"
        f"import {library.lower()} as lib\ndf = lib.load({number})\n</code>\n"
        f"result = ... # put solution in this variable\n{marker}\n<code>\n"
    )


def write_benchmark_files(folder: Path, full_size: bool = False) -> BenchmarkFiles:
    """The small fixtures, or (``full_size``) as many passages as the real benchmarks have:
    MBPP 974 tasks, APPS 5 000 test questions of ~1.5 KB, GSM8K 1 319, DS-1000 1 000 prompts."""
    folder.mkdir(parents=True, exist_ok=True)
    if full_size:
        mbpp, apps, gsm8k = mbpp_rows(974), apps_rows(5000, padding=45), gsm8k_rows(1318)
        libraries = (("Pandas", 291), ("Numpy", 220), ("Matplotlib", 155), ("Scipy", 334))
    else:
        mbpp, apps, gsm8k = mbpp_rows(), apps_rows(), gsm8k_rows()
        libraries = (("Pandas", 12), ("Numpy", 6), ("Matplotlib", 3))
    ds1000 = folder / "ds1000_data"
    prompts: dict[str, str] = {}
    for library, count in libraries:
        marker = "# SOLUTION START" if library == "Matplotlib" else "BEGIN SOLUTION"
        for number in range(count):
            text = ds1000_prompt(library, number, marker)
            prompt = ds1000 / library / "Insertion" / f"q{number}" / "prompt.txt"
            prompt.parent.mkdir(parents=True)
            prompt.write_text(text, encoding="utf-8")
            prompts[f"{library}/q{number}"] = text
    # Completion prompts are not what upstream reads.
    other = ds1000 / "Pandas" / "Completion" / "q0" / "prompt.txt"
    other.parent.mkdir(parents=True)
    other.write_text("Completion prompt, never read\nBEGIN SOLUTION\n", encoding="utf-8")
    return BenchmarkFiles(
        mbpp=_write_jsonl(folder / "mbpp.jsonl", mbpp),
        apps=_write_jsonl(folder / "apps-test.jsonl", apps),
        gsm8k=_write_jsonl(folder / "gsm8k-test.jsonl", gsm8k),
        ds1000=ds1000,
        mbpp_rows=mbpp,
        apps_rows=apps,
        gsm8k_rows=gsm8k,
        ds1000_prompts=prompts,
    )
