"""curate() holds no record past its batch: it gives what the in-memory path gives.

``curate`` reads each input once, keeps a few numbers per record and the formatted lines in a
temp file, and reads a record's line again when it needs the record (an earlier duplicate to
compare with, a removal for the report). ``curate_records(load_inputs(...))`` holds every
record. Both must give the same bytes and the same removals, whatever the inputs hold; the
dedupe must give the verdicts of comparing texts even where hashes collide; and the shortcuts
(JSON lines read and written without the json module's per-call layers, whitespace removed
from bytes) must be the json module's and squash()'s results exactly.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from magitui_core.curation import dedupe
from magitui_core.curation.dedupe import squash, text_key, text_keys
from magitui_core.curation.jsonl_io import loads, training_line
from magitui_core.curation.pipeline import (
    CurateOptions,
    CurationResult,
    curate,
    curate_records,
)
from magitui_core.curation.reading import load_inputs
from tests.curation.hostile_inputs import HOSTILE, inputs

OPTIONS = {
    "default": CurateOptions(decontaminate="humaneval"),
    "no shuffle": CurateOptions(decontaminate="humaneval", shuffle=False),
    "seed 3": CurateOptions(decontaminate="humaneval", seed=3),
    "dedupe none": CurateOptions(decontaminate="humaneval", dedupe="none"),
    "minhash": CurateOptions(decontaminate="humaneval", dedupe="minhash"),
    "copies": CurateOptions(decontaminate="humaneval", drop_copied_solutions=True),
    "ngram": CurateOptions(decontaminate="humaneval", decontaminate_method="ngram"),
    "no decontamination": CurateOptions(decontaminate="none"),
}


def in_memory(paths: list[Path], options: CurateOptions) -> tuple[bytes, list, dict]:
    result = curate_records(load_inputs(paths, options.fmt), options)
    lines = "".join(json.dumps(record.formatted()) + "\n" for record in result.kept)
    return lines.encode(), removals(result), result.summary()


def removals(result: CurationResult) -> list[tuple[Any, ...]]:
    return [(r.record.source, r.record.raw, r.reason, r.detail, r.matched) for r in result.removed]


@pytest.mark.parametrize("name", list(OPTIONS))
def test_curate_gives_what_the_in_memory_path_gives(name: str, tmp_path: Path) -> None:
    paths = inputs(tmp_path)
    options = OPTIONS[name]
    out = tmp_path / "out" / "train.jsonl"
    result = curate(paths, out, options)
    expected_bytes, expected_removals, expected_summary = in_memory(paths, options)
    assert out.read_bytes() == expected_bytes
    assert removals(result) == expected_removals
    assert result.summary() == expected_summary
    assert len(result.kept) + len(result.removed) == len(result.loaded.records) > 300
    assert result.removed and len(result.loaded.bad_lines) == 6 * 3 + 1  # and the torn line
    # Nothing is left beside the output but the output itself and its lock.
    assert sorted(p.name for p in out.parent.iterdir()) in (
        ["train.jsonl"],
        [".train.jsonl.lock", "train.jsonl"],
    )


def test_the_kept_and_read_records_are_read_again_as_they_were(tmp_path: Path) -> None:
    paths = inputs(tmp_path)
    options = OPTIONS["default"]
    result = curate(paths, tmp_path / "train.jsonl", options)
    reference = curate_records(load_inputs(paths), options)
    assert list(result.kept) == list(reference.kept)
    assert list(result.loaded.records) == list(reference.loaded.records)
    assert result.kept[-1] == reference.kept[-1] and result.kept[2:5] == reference.kept[2:5]
    with pytest.raises(IndexError):
        result.loaded.records[len(result.loaded.records)]
    assert [item.format for item in result.loaded.inputs] == [
        "src-instruct",
        "codealpaca",
        "evol-instruct",
    ]


def colliding_key(text: str) -> int:
    return len(squash(text)) % 3  # equal texts, equal keys; most different texts too


def test_dedupe_compares_texts_where_keys_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = inputs(tmp_path)
    options = OPTIONS["default"]
    expected = curate(paths, tmp_path / "a.jsonl", options)
    monkeypatch.setattr(dedupe, "text_key", colliding_key)
    monkeypatch.setattr(dedupe, "text_keys", lambda texts: [colliding_key(t) for t in texts])
    collided = curate(paths, tmp_path / "b.jsonl", options)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert removals(collided) == removals(expected)
    assert expected.removed_by_reason["duplicate problem"] >= 10


def test_exact_duplicates_are_those_of_comparing_squashed_texts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dedupe on its own, against the plain algorithm: dicts of squashed texts."""
    rng = random.Random(6)
    words = ["a", "b", " ", "\n", "\x1c", "\xa0", "é", "\ud800"]
    rows = [
        {"seed": "".join(rng.choices(words, k=3)), "problem": "".join(rng.choices(words, k=4)),
         "solution": "".join(rng.choices(words, k=4))}
        for _ in range(400)
    ]  # fmt: skip
    records = load_records(rows)
    seen: dict[str, dict[str, str]] = {"seed": {}, "problem": {}, "solution": {}}
    expected = []
    for index, record in enumerate(records):
        texts = {name: squash(getattr(record, name)) for name in seen}
        found = next((name for name in seen if texts[name] in seen[name]), None)
        if found is not None:
            expected.append(
                (index, f"duplicate {found}", f"same {found} as {seen[found][texts[found]]}")
            )
        else:
            for name in seen:
                seen[name][texts[name]] = record.source
    assert dedupe.exact_duplicates(records) == expected
    monkeypatch.setattr(dedupe, "text_key", colliding_key)
    assert dedupe.exact_duplicates(records) == expected
    assert len(expected) > 100


def load_records(rows: list[dict[str, str]]) -> list:
    from magitui_core.curation.formats import SRC_INSTRUCT, to_record

    return [to_record(SRC_INSTRUCT, row, f"rows:{i + 1}") for i, row in enumerate(rows)]


def test_text_keys_follow_squash() -> None:
    for a in HOSTILE:
        for b in HOSTILE:
            if squash(a) == squash(b):
                assert text_key(a) == text_key(b), (a, b)
    assert text_keys(HOSTILE) == [text_key(text) for text in HOSTILE]
    assert dedupe._ASCII_WHITESPACE == b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "


def test_training_line_is_json_dumps() -> None:
    for a in HOSTILE:
        for b in HOSTILE[::-1]:
            line = json.dumps({"instruction": a, "response": b}) + "\n"
            assert training_line(a, b) == line


def test_loads_is_json_loads_values_and_errors() -> None:
    lines = [json.dumps({"text": text}) for text in HOSTILE]
    lines += [
        '{"a": 1}\n', ' {"a": [1, {"b": null}]} \r\n', '{"a": ', '{"a": \n', "", "\n", '"x"',
        "[1, 2]", '{"a": 1} x', '{"a": 1}{"b": 2}', '\ufeff{"a": 1}', '{"a": NaN}',
        '{"a": "tab\there"}', "{a: 1}", '{"a": 1,}', "  \n", '{"a": 1}\t\n', "1e999", "-",
        '{"a": "\\ud800"}', '{"a": "\\x"}', "[" * 100 + "]" * 100,
    ]  # fmt: skip

    def outcome(parse: Any, line: str) -> tuple[str, Any]:
        try:
            return "value", parse(line)
        except ValueError as exc:
            return type(exc).__name__, str(exc)

    for line in lines:
        assert outcome(loads, line) == outcome(json.loads, line), line
