"""Seed sources: upstream's snippet selection replayed exactly, folders, hub errors."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from magitui_core.generation.seeds import (
    FolderSeeds,
    HubStreamSeeds,
    JsonlSeeds,
    SeedError,
    hub_error_message,
    open_seed_source,
)
from magitui_core.generation.snippets import MAX_LINES, TABLE_FOLDER
from tests.generation.conftest import write_seed_lines


# ---- upstream's code (ise-uiuc/magicoder src/magicoder/generate_data.py), as the reference ----
def upstream_extract_seed_code(document: str) -> str:
    lines = document.splitlines(keepends=True)
    start_index = random.choice(range(len(lines)))
    n_lines_to_consider = random.randint(1, 15)
    return "".join(lines[start_index : start_index + n_lines_to_consider])


def upstream_map_dataset(examples: dict, indices: list[int], seed: int) -> dict:
    random.seed(seed + indices[0])
    return {
        "seed": [upstream_extract_seed_code(content) for content in examples["content"]],
        "raw_index": indices,
    }


def upstream_selection(documents: list[str], max_considered: int) -> list[dict[str, Any]]:
    """generate_data.py's main() up to the request loop, on an in-memory dataset."""
    from datasets import Dataset

    dataset = Dataset.from_dict({"content": documents[:max_considered]})
    random.seed(976)
    dataset = dataset.map(
        upstream_map_dataset,
        fn_kwargs={"seed": 976},
        with_indices=True,
        batched=True,
        batch_size=1000,
        load_from_cache_file=False,
    )
    dataset = dataset.shuffle(seed=976)
    dataset = dataset.map(lambda _, index: {"index": index}, with_indices=True)
    return [dict(row) for row in dataset]


def awkward_documents(count: int) -> list[str]:
    """Code-like documents of every shape the rule must get right: CRLF, no final newline,
    one line, blank lines, long files."""
    rng = random.Random(5)
    documents = []
    for number in range(count):
        lines = [
            f"def f{number}_{i}(x):  # {'y' * rng.randint(0, 20)}"
            for i in range(rng.randint(1, 60))
        ]
        ending = "\r\n" if number % 3 == 0 else "\n"
        text = ending.join(lines)
        if number % 4:
            text += ending  # a final newline on most, not all
        if number % 7 == 0:
            text = text.replace(ending, ending + ending, 2)  # some blank lines
        documents.append(text)
    return documents


def write_documents(path: Path, documents: list[str], column: str = "content") -> Path:
    path.write_text(
        "".join(json.dumps({column: d, "id": n}) + "\n" for n, d in enumerate(documents))
    )
    return path


def no_progress(documents: int) -> None:
    return None


def test_jsonl_seeds_replay_upstream_exactly(tmp_path: Path) -> None:
    documents = awkward_documents(3500)
    expected = upstream_selection(documents, max_considered=3000)
    source = JsonlSeeds(write_documents(tmp_path / "docs.jsonl", documents), max_considered=3000)
    assert source.prepare(tmp_path / "out", no_progress) == 3000
    seeds = list(source.seeds(range(3000)))
    assert [(s.index, s.raw_index, s.code) for s in seeds] == [
        (row["index"], row["raw_index"], row["seed"]) for row in expected
    ]
    # CRLF and final newlines are kept, and snippets run past the end of short documents.
    assert any("\r\n" in s.code for s in seeds)
    assert any(s.code.endswith("\n") for s in seeds) and any(
        not s.code.endswith("\n") for s in seeds
    )
    # The raw index past max_considered is never used.
    assert max(s.raw_index for s in seeds if s.raw_index is not None) == 2999


def test_hub_stream_replays_upstream_and_streams_once(tmp_path: Path) -> None:
    """The hf: path with local shards: the same loader call (streaming=True), no network."""
    documents = awkward_documents(2300)
    shards = []
    for shard in range(3):
        part = documents[shard * 800 : (shard + 1) * 800]
        shards.append(str(write_documents(tmp_path / f"shard{shard}.jsonl", part)))
    expected = upstream_selection(documents, max_considered=2200)
    source = HubStreamSeeds("json", data_dir=None, data_files=shards, max_considered=2200)
    reports: list[int] = []
    assert source.prepare(tmp_path / "data", reports.append) == 2200
    assert reports[-1] == 2200 and reports[:-1] == list(range(5000, 2200, 5000))
    wanted = [0, 7, 999, 1000, 2199]
    seeds = list(source.seeds(wanted))
    assert [(s.raw_index, s.code) for s in seeds] == [
        (expected[i]["raw_index"], expected[i]["seed"]) for i in wanted
    ]
    assert seeds[0].origin == {"source": "hf", "dataset": "json", "row": expected[0]["raw_index"]}
    # The table is kept in the run: a second run reads no document at all.
    (table,) = (tmp_path / "data" / TABLE_FOLDER).glob("*.jsonl")
    again = HubStreamSeeds("json", data_dir=None, data_files=shards, max_considered=2200)
    again.documents = lambda: (_ for _ in ()).throw(AssertionError("streamed again"))  # type: ignore[method-assign]
    assert again.prepare(tmp_path / "data", no_progress) == 2200
    assert [s.code for s in again.seeds(wanted)] == [s.code for s in seeds]
    # Another selection (other max_considered) builds its own table.
    other = HubStreamSeeds("json", data_dir=None, data_files=shards, max_considered=100)
    assert other.prepare(tmp_path / "data", no_progress) == 100
    assert len(list((tmp_path / "data" / TABLE_FOLDER).glob("*.jsonl"))) == 2
    assert table.exists()


def test_an_empty_document_draws_nothing(tmp_path: Path) -> None:
    """Upstream crashes on it; magitui gives it an empty seed and leaves the rest as upstream
    would with that document taken out of its chunk's draws."""
    documents = awkward_documents(20)
    with_empty = [*documents[:5], "", *documents[5:]]
    source = JsonlSeeds(write_documents(tmp_path / "d.jsonl", with_empty))
    source.prepare(tmp_path, no_progress)
    by_raw = {s.raw_index: s.code for s in source.seeds(range(21))}
    assert by_raw[5] == ""
    random.seed(976)
    reference = [upstream_extract_seed_code(d) for d in documents]
    assert [by_raw[r] for r in range(21) if r != 5] == reference


def test_jsonl_errors_name_the_record_and_fix(tmp_path: Path) -> None:
    path = write_documents(tmp_path / "seeds.jsonl", ["a = 1\n", "b = 2\n"], column="text")
    with pytest.raises(
        SeedError,
        match=r"record 1 has no text column 'content' \(has: id, text\) — .*--text-column",
    ):
        JsonlSeeds(path).prepare(tmp_path, no_progress)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"content": "x"}\n{not json\n')
    with pytest.raises(SeedError, match=r"record 2 is not valid JSON — fix or remove that line"):
        JsonlSeeds(bad).prepare(tmp_path, no_progress)
    with pytest.raises(SeedError, match=r"--max-considered 0 — must be at least 1"):
        JsonlSeeds(path, max_considered=0)
    # A failed build leaves no table that a later run could take for a whole one.
    assert list((tmp_path / TABLE_FOLDER).iterdir()) == []


def make_code_tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    for n in range(3):
        lines = [f"def f{n}_{i}(x):  # line {i}" for i in range(40)]
        (root / "pkg" / f"mod{n}.py").write_text("\n".join(lines) + "\n")
    (root / "pkg" / "app.js").write_text("const a = 1;\nconsole.log(a);\n")
    for skipped in ("node_modules/lib", ".git", "vendor", "__pycache__", "build"):
        (root / skipped).mkdir(parents=True, exist_ok=True)
        (root / skipped / "hidden.py").write_text("print('vendored')\n")
    (root / "pkg" / "blob.py").write_bytes(b"\x00\x01binary\x00" * 10)
    (root / "pkg" / "big.py").write_text("x = 1\n" * 400_000)  # 2.4 MB: over the limit
    (root / "pkg" / "api_pb2.py").write_text("generated = True\n")
    (root / "pkg" / "empty.py").write_text("")
    (root / "README.md").write_text("# not code\n")
    return root


def test_folder_keeps_only_usable_source_files(tmp_path: Path) -> None:
    source = FolderSeeds(make_code_tree(tmp_path / "code"))
    names = sorted(str(p.relative_to(tmp_path / "code")) for p in source.files)
    assert names == ["pkg/app.js", "pkg/mod0.py", "pkg/mod1.py", "pkg/mod2.py"]
    only_python = FolderSeeds(tmp_path / "code", languages=["python"])
    assert [p.name for p in only_python.files] == ["mod0.py", "mod1.py", "mod2.py"]
    only_js = FolderSeeds(tmp_path / "code", extensions=["js"])
    assert [p.name for p in only_js.files] == ["app.js"]
    assert source.prepare(tmp_path, no_progress) is None  # no end: files are drawn per index


def test_folder_snippets_are_consecutive_lines_and_deterministic(tmp_path: Path) -> None:
    root = make_code_tree(tmp_path / "code")
    first = list(FolderSeeds(root, seed=7, languages=["python"]).seeds(range(40)))
    # Another instance, asked in another order and in pieces, gives the same snippets.
    again = FolderSeeds(root, seed=7, languages=["python"])
    pieces = {s.index: s for s in again.seeds([5, 17, 33])}
    assert {i: first[i].code for i in (5, 17, 33)} == {i: pieces[i].code for i in (5, 17, 33)}
    other_seed = list(FolderSeeds(root, seed=8, languages=["python"]).seeds(range(40)))
    assert [s.code for s in other_seed] != [s.code for s in first]
    lengths = set()
    for seed in first:
        lines = seed.code.splitlines(keepends=True)
        assert 1 <= len(lines) <= MAX_LINES and seed.raw_index is None
        lengths.add(len(lines))
        text = (root / seed.origin["file"]).read_text().splitlines(keepends=True)
        start = text.index(lines[0])
        assert text[start : start + len(lines)] == lines  # consecutive, endings kept
    assert len(lengths) > 3  # lengths really vary


def test_folder_errors_name_the_folder_and_fix(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"does not exist — give a folder"):
        FolderSeeds(tmp_path / "missing")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("text\n")
    with pytest.raises(SeedError, match=r"no usable source files .* --language/--ext"):
        FolderSeeds(tmp_path / "docs")
    with pytest.raises(SeedError, match=r"unknown language 'klingon' — one of: .*python"):
        FolderSeeds(tmp_path / "docs", languages=["klingon"])


def test_open_seed_source_picks_the_kind(tmp_path: Path) -> None:
    jsonl = write_seed_lines(tmp_path / "s.jsonl", ["a = 1"])
    assert isinstance(open_seed_source(str(jsonl)), JsonlSeeds)
    assert isinstance(open_seed_source(str(make_code_tree(tmp_path / "c"))), FolderSeeds)
    hub = open_seed_source("hf:bigcode/starcoderdata")
    assert isinstance(hub, HubStreamSeeds)
    assert (hub.dataset, hub.data_dir, hub.column) == ("bigcode/starcoderdata", "python", "content")
    assert (hub.seed, hub.max_considered, hub.chunk_size) == (976, 150_000, 1000)
    other = open_seed_source("hf:someone/code:rust", max_considered=10)
    assert isinstance(other, HubStreamSeeds) and other.data_dir == "rust"
    assert other.max_considered == 10
    with pytest.raises(SeedError, match=r"neither a folder, a .jsonl file nor hf:"):
        open_seed_source(str(tmp_path / "nothing-here"))


def test_gated_error_messages() -> None:
    import httpx2
    from huggingface_hub.errors import GatedRepoError

    response = httpx2.Response(
        401, request=httpx2.Request("GET", "https://huggingface.co/api/datasets/x")
    )
    gated = GatedRepoError(
        "Access to dataset bigcode/starcoderdata is restricted.", response=response
    )
    no_token = hub_error_message("bigcode/starcoderdata", gated, has_token=False)
    assert "gated dataset and no Hugging Face token is set" in no_token
    assert "huggingface.co/datasets/bigcode/starcoderdata" in no_token and "HF_TOKEN" in no_token
    with_token = hub_error_message("bigcode/starcoderdata", gated, has_token=True)
    assert "your token has no access" in with_token
    wrapped = RuntimeError("loading failed")
    wrapped.__cause__ = gated
    assert "gated dataset" in hub_error_message("x/y", wrapped, has_token=False)
    missing = hub_error_message("x/y", FileNotFoundError("nothing"), has_token=False)
    assert missing.startswith("hf:x/y cannot be streamed: FileNotFoundError")


class GatedHub(BaseHTTPRequestHandler):
    """A hub that answers every request the way huggingface.co answers for a gated repo."""

    def _gated(self) -> None:
        body = b'{"error":"Access to dataset bigcode/starcoderdata is restricted."}'
        self.send_response(401)
        self.send_header("X-Error-Code", "GatedRepo")
        self.send_header(
            "X-Error-Message", "Access to dataset is restricted. You must be authenticated."
        )
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_HEAD = do_POST = _gated

    def log_message(self, format: str, *args: object) -> None:
        return


def test_gated_dataset_through_the_real_loader(isolated: Path) -> None:
    """datasets + huggingface_hub against a loopback hub that says 'gated', without a token."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), GatedHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = dict(os.environ)
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{server.server_address[1]}"
        env.pop("HF_HUB_OFFLINE", None)
        env.pop("HF_DATASETS_OFFLINE", None)
        code = (
            "import tempfile, pathlib\n"
            "from magitui_core.generation.seeds import open_seed_source, SeedError\n"
            "try:\n"
            "    source = open_seed_source('hf:bigcode/starcoderdata')\n"
            "    source.prepare(pathlib.Path(tempfile.mkdtemp()), lambda n: None)\n"
            "except SeedError as exc:\n"
            "    print(exc)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert "hf:bigcode/starcoderdata is a gated dataset and no Hugging Face token is set" in (
        result.stdout
    ), result.stdout + result.stderr[-2000:]
