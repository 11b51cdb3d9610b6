"""Magicoder's own curation functions, copied from ise-uiuc/magicoder as the reference.

The bodies of filter_same_seed_problem_solution, remove_all_whitespaces, detect_codeblocks,
filter_same_codeblocks (src/magicoder/clean_data.py), find_substrings
(decontamination/find_substrings.py), extract_docstring, extract_ds_1000_prompt, the MBPP,
DS-1000 and column loaders and HUMAN_EVAL_STRINGS_OK (decontamination/benchmark_data.py),
form_codealpaca_instruction (preprocess_data.py), SRC_INSTRUCT_INSTRUCTION_PROMPT
(prompt_template.py) and write_jsonl (utils.py) are upstream's; only tqdm is gone and the
loaders take a path or rows instead of an environment variable or a Hub download.
``upstream_run`` chains them as README-DEV.md does: clean_data.py (random.seed(666); shuffle;
filter), then find_substrings over problem and solution, then preprocess_data.py src-instruct
and combine.
"""

from __future__ import annotations

import gzip
import itertools
import json
import random
from pathlib import Path
from typing import Any

# fmt: off
HUMAN_EVAL_STRINGS_OK = [
    "return x + y",
    "return len(string)",
    "return n**2",
    "return " ".join(strings)",  # upstream's spelling; formatters would join it
]
# fmt: on


def extract_ds_1000_prompt(prompt: str):
    if "SOLUTION START" in prompt:
        assert prompt.count("SOLUTION START") == 1
        return prompt.split("SOLUTION START")[0]
    elif "BEGIN SOLUTION" in prompt:
        assert prompt.count("BEGIN SOLUTION") == 1
        return prompt.split("BEGIN SOLUTION")[0]
    else:
        raise ValueError()


def load_ds_1000(DS1000_PATH: Path):
    data = []
    for prompt_file in DS1000_PATH.glob("*/Insertion/q*/prompt.txt"):
        with open(prompt_file) as f:
            data.append(extract_ds_1000_prompt(f.read()))
    return data


def load_mbpp(MBPP_PATH: Path):
    TEST_IDS = list(range(11, 511))
    data = []
    with open(MBPP_PATH) as f:
        for line in f:
            data.append(json.loads(line))

    data = [sample for sample in data if sample["task_id"] in TEST_IDS]

    assert len(data) == 500
    return data


def extract_docstring(prompt: str) -> str:
    if '"""' in prompt:
        if prompt.count('"""') == 2:
            return prompt.split('"""')[1].strip()
        elif prompt.count('"""') == 4:
            return prompt.split('"""')[3].strip()
        else:
            raise ValueError()
    elif "'''" in prompt:
        assert prompt.count("'''") == 2
        return prompt.split("'''")[1].strip()
    else:
        raise ValueError()


def load_dataset_column(ds: list[dict], column: str):
    res = [sample[column].strip() for sample in ds]
    # Only return non-empty strings
    return [sample for sample in res if len(sample) > 0]


def read_jsonl(path: Path) -> list[Any]:
    with Path(path).open("r") as f:
        return [json.loads(line) for line in f]


def filter_out(
    mbpp: Path, humaneval_gz: Path, apps: Path, gsm8k: Path, ds1000: Path
) -> dict[str, list[str]]:
    """benchmark_data.FILTER_OUT, each dataset read from the given local copy."""
    with gzip.open(humaneval_gz, "rt") as f:
        openai_humaneval = [json.loads(line) for line in f]
    return {
        "mbpp_docstrings": [sample["text"] for sample in load_mbpp(mbpp)],
        "mbpp_solutions": [sample["code"] for sample in load_mbpp(mbpp)],
        "human_eval_docstrings": [extract_docstring(v["prompt"]) for v in openai_humaneval],
        "human_eval_solutions": [
            s
            for s in load_dataset_column(openai_humaneval, "canonical_solution")
            if s not in HUMAN_EVAL_STRINGS_OK
        ],
        "apps_docstrings": load_dataset_column(read_jsonl(apps), "question"),
        "gsm8k_questions": load_dataset_column(read_jsonl(gsm8k), "question"),
        "ds_1000_prompts": load_ds_1000(ds1000),
    }


def filter_same_seed_problem_solution(
    raw_data: list[dict],
) -> tuple[list[dict], list[dict]]:
    chosen_data: list[dict] = []
    seeds: set[str] = set()
    problems: set[str] = set()
    solutions: set[str] = set()
    rejected_data: list[dict] = []
    for d in raw_data:
        seed = remove_all_whitespaces(d["seed"])
        problem = remove_all_whitespaces(d["problem"])
        solution = remove_all_whitespaces(d["solution"])
        if seed not in seeds and problem not in problems and solution not in solutions:
            chosen_data.append(d)
            seeds.add(seed)
            problems.add(problem)
            solutions.add(solution)
        else:
            reason = (
                "duplicate seeds"
                if seed in seeds
                else "duplicate problems"
                if problem in problems
                else "duplicate solutions"
            )
            rejected_data.append(dict(reason=reason, **d))
    return chosen_data, rejected_data


def remove_all_whitespaces(text: str) -> str:
    return "".join(text.split())


def detect_codeblocks(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    codeblocks: list[str] = []
    start_index: int | None = None
    for idx, line in enumerate(lines):
        if line.strip().startswith("```"):
            if start_index is None:
                start_index = idx
            else:
                codeblocks.append("".join(lines[start_index + 1 : idx]))
                start_index = None
    return codeblocks


def filter_same_codeblocks(raw_data: list[dict]) -> tuple[list[dict], list[dict]]:
    """Filter out data whose solution just copies the problem."""
    chosen_data: list[dict] = []
    rejected_data: list[dict] = []
    for d in raw_data:
        problem_codeblocks = list(map(remove_all_whitespaces, detect_codeblocks(d["problem"])))
        solution_codeblocks = list(map(remove_all_whitespaces, detect_codeblocks(d["solution"])))
        iter = itertools.product(problem_codeblocks, solution_codeblocks)
        if any(p == s for p, s in iter):
            rejected_data.append(dict(reason="Solution copies the problem", **d))
            continue
        chosen_data.append(d)
    return chosen_data, rejected_data


def benchmark_name_to_filter_reason(benchmark_name: str):
    return f"{benchmark_name}_match"


def find_substrings(data, columns, filter_out, return_matched=False):
    content = "\n\n".join([data[col].lower() for col in columns])
    # For each substring, try to find it in the file (case insensitive)
    for benchmark, substrings in filter_out.items():
        for substring in substrings:
            if substring.lower() in content:
                if return_matched:
                    return False, benchmark_name_to_filter_reason(benchmark), substring
                else:
                    return False, benchmark_name_to_filter_reason(benchmark)

    # Return True, None if none of the substrings was found
    if return_matched:
        return True, None, None
    else:
        return True, None


def form_codealpaca_instruction(instruction: str, input: str) -> str:
    if input.strip() == "":
        return instruction
    return f"{instruction}\nInput: {input}"


SRC_INSTRUCT_INSTRUCTION_PROMPT = """Write a solution to the following coding problem:
{problem}"""


def write_jsonl_bytes(data: list[dict]) -> bytes:
    """utils.write_jsonl, into bytes: ``json.dumps(item) + "\\n"`` per item."""
    return "".join(json.dumps(item) + "\n" for item in data).encode("utf-8")


def upstream_run(
    raw_data: list[dict], filter_out: dict[str, list[str]], copies: bool = False
) -> tuple[bytes, list[tuple[dict, str, str | None]]]:
    """The whole recipe: (training file bytes, [(record, reason, matched passage)])."""
    data = list(raw_data)
    state = random.getstate()
    try:
        random.seed(666)
        random.shuffle(data)
    finally:
        random.setstate(state)  # the rest of the test session keeps its own sequence
    chosen, rejected = filter_same_seed_problem_solution(data)
    removed: list[tuple[dict, str, str | None]] = []
    for d in rejected:
        reason = d.pop("reason")
        removed.append((d, reason, None))
    if copies:
        chosen, copied = filter_same_codeblocks(chosen)
        for d in copied:
            removed.append((d, d.pop("reason"), None))
    kept = []
    for d in chosen:
        include, reason, matched = find_substrings(
            d, ["problem", "solution"], filter_out, return_matched=True
        )
        if include:
            kept.append(d)
        else:
            removed.append((d, reason, matched))
    combined = [
        dict(
            instruction=SRC_INSTRUCT_INSTRUCTION_PROMPT.format(problem=d["problem"]),
            response=d["solution"],
        )
        for d in kept
    ]
    return write_jsonl_bytes(combined), removed
