"""Seed sources: filtering, deterministic snippets, streaming from local files, hub errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from magitui_core.generation.seeds import (
    MAX_LINES,
    FolderSeeds,
    HubStreamSeeds,
    JsonlSeeds,
    SeedError,
    hub_error_message,
    open_seed_source,
)
from tests.generation.conftest import write_seed_lines


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
        lines = seed.code.split("\n")
        assert 1 <= len(lines) <= MAX_LINES
        lengths.add(len(lines))
        text = (root / seed.origin["file"]).read_text().split("\n")
        start = text.index(lines[0])
        assert text[start : start + len(lines)] == lines  # consecutive, in order
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


def test_jsonl_seeds_deterministic_and_column_errors(tmp_path: Path) -> None:
    path = tmp_path / "seeds.jsonl"
    docs = ["\n".join(f"line {d}.{i}" for i in range(30)) for d in range(5)]
    path.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    first = [s.code for s in JsonlSeeds(path, seed=1, column="text").seeds(range(12))]
    assert first == [s.code for s in JsonlSeeds(path, seed=1, column="text").seeds(range(12))]
    seeds = list(JsonlSeeds(path, seed=1, column="text").seeds(range(12)))
    assert [s.origin["record"] for s in seeds] == [i % 5 for i in range(12)]
    assert all(s.code.split("\n")[0] in docs[s.origin["record"]] for s in seeds)
    with pytest.raises(
        SeedError, match=r"no text column 'content' \(has: text\) — .*--text-column"
    ):
        list(JsonlSeeds(path).seeds([0]))


def test_open_seed_source_picks_the_kind(tmp_path: Path) -> None:
    jsonl = write_seed_lines(tmp_path / "s.jsonl", ["a = 1"])
    assert isinstance(open_seed_source(str(jsonl)), JsonlSeeds)
    assert isinstance(open_seed_source(str(make_code_tree(tmp_path / "c"))), FolderSeeds)
    hub = open_seed_source("hf:bigcode/starcoderdata")
    assert isinstance(hub, HubStreamSeeds)
    assert (hub.dataset, hub.data_dir, hub.column) == ("bigcode/starcoderdata", "python", "content")
    other = open_seed_source("hf:someone/code:rust")
    assert isinstance(other, HubStreamSeeds) and other.data_dir == "rust"
    with pytest.raises(SeedError, match=r"neither a folder, a .jsonl file nor hf:"):
        open_seed_source(str(tmp_path / "nothing-here"))


def test_hub_streaming_reads_only_what_it_needs(tmp_path: Path) -> None:
    """The hf: path with local files: same loader call (streaming=True), no network."""
    shards = []
    for shard in range(3):
        path = tmp_path / f"shard{shard}.jsonl"
        rows = [
            {"content": "\n".join(f"row {shard}.{r} line {i}" for i in range(20))}
            for r in range(10)
        ]
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        shards.append(str(path))
    source = HubStreamSeeds("json", data_dir=None, seed=3, data_files=shards)
    seeds = list(source.seeds([2, 5, 11, 29]))
    assert [s.index for s in seeds] == [2, 5, 11, 29]
    assert [s.origin["row"] for s in seeds] == [2, 5, 11, 29]
    assert seeds[2].code.startswith("row 1.1 ")  # document 11 is shard 1, row 1
    again = list(HubStreamSeeds("json", None, seed=3, data_files=shards).seeds([11]))
    assert again[0].code == seeds[2].code
    with pytest.raises(SeedError, match=r"ended before index 30 — ask for fewer samples"):
        list(HubStreamSeeds("json", None, data_files=shards).seeds([29, 30]))


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
            "from magitui_core.generation.seeds import open_seed_source, SeedError\n"
            "try:\n"
            "    list(open_seed_source('hf:bigcode/starcoderdata').seeds([0]))\n"
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
