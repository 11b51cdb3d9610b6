"""Inputs with everything a curation must survive: three formats, duplicates across files,
contamination, bad and blank lines, CRLF endings, non-ASCII text and a torn last line."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.curation.humaneval_data import humaneval_problems
from tests.curation.synthetic import synthetic_records, write_jsonl

HOSTILE = [
    "",
    " ",
    "a b",
    "ab",
    "a\x1cb",  # str.split() splits on \x1c-\x1f; bytes.split() would not
    "a\x1fb",
    "a\x00b",
    "a\xa0b",  # no-break space: whitespace to str.split()
    "a\u3000b\u2028c",
    "a\u200bb",  # zero-width space: not whitespace
    "é b",
    "éb",
    "\ud800 x",  # a lone surrogate, as JSON allows
    "\ud800x",
    "😀\t😀",
    "tab\there\r\n",
    'quote " and backslash \\ and \x7f and \x01',
]


def inputs(folder: Path) -> list[Path]:
    """Three files of different formats, with duplicates across them, contamination, bad
    lines, blank lines, CRLF endings, non-ASCII text and a torn last line."""
    rng = random.Random(4)
    generated = synthetic_records(300, seed=5, duplicate_every=7)
    he = list(humaneval_problems().values())
    for index, row in enumerate(generated):
        if index % 23 == 3:
            row["problem"] += "\n" + rng.choice(he)["prompt"].upper()
        if index % 31 == 4:
            row["solution"] = "Tröpfchen — " + rng.choice(HOSTILE) + row["solution"]
        if index % 37 == 5:
            row["seed"] = generated[index - 1]["seed"].replace("\n", " \n ")
        if index % 41 == 6:
            row["solution"] = "  \n"
    first = folder / "gen.jsonl"
    with first.open("wb") as handle:
        for index, row in enumerate(generated):
            try:  # raw UTF-8 or \u escapes; a lone surrogate has only the escape
                line = json.dumps(row, ensure_ascii=index % 2 == 0).encode()
            except UnicodeEncodeError:
                line = json.dumps(row).encode()
            handle.write(line + (b"\r\n" if index % 11 == 0 else b"\n"))
            if index % 50 == 10:
                handle.write(b"\n   \n{not json}\n[1, 2]\n" + b'{"seed": "s"}\n')
        handle.write(b'{"seed": "torn", "problem": "cut')
    alpaca = [
        {"instruction": row["problem"], "input": "", "output": row["solution"]}
        for row in generated[:40:3]
    ] + [{"instruction": "Add.", "input": "1 and 2", "output": "3"}]
    evol = [{"instruction": row["problem"][::-1], "output": "x"} for row in generated[:20]]
    return [
        first,
        write_jsonl(folder / "alpaca.jsonl", alpaca),
        write_jsonl(folder / "e.jsonl", evol),
    ]
