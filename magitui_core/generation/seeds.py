"""Seed sources: where OSS-Instruct's random code snippets come from.

Three kinds, chosen by a SOURCE string:

- a folder of source code (``path/to/code``): walked recursively, filtered by
  extension, skipping binaries, vendored/generated folders and huge files;
- a JSONL file (``seeds.jsonl``) with a text column;
- a Hugging Face dataset in streaming mode (``hf:DATASET[:DATA_DIR]``), never
  downloaded whole.

A snippet is taken as in the paper: a random start line and 1–15 consecutive
lines, from a ``random.Random`` seeded by (seed, index), so index ``i`` always
gets the same snippet whatever order or resume point it is generated in.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

DEFAULT_HF_DATASET = "bigcode/starcoderdata"
DEFAULT_HF_DATA_DIR = "python"
DEFAULT_TEXT_COLUMN = "content"
MIN_LINES = 1
MAX_LINES = 15
MAX_FILE_BYTES = 1_000_000  # larger files are data dumps or generated code, not seeds
# Folders that hold someone else's or machine-written code.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        "node_modules",
        "vendor",
        "vendored",
        "third_party",
        "third-party",
        "site-packages",
        "__pycache__",
        "build",
        "dist",
        "target",
        ".tox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".idea",
        ".vscode",
        "generated",
        "gen",
    }
)
GENERATED_SUFFIXES = (".min.js", ".min.css", "_pb2.py", "_pb2_grpc.py", ".pb.go", ".lock")
LANGUAGE_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "python": (".py",),
    "javascript": (".js", ".jsx", ".mjs"),
    "typescript": (".ts", ".tsx"),
    "java": (".java",),
    "c": (".c", ".h"),
    "cpp": (".cc", ".cpp", ".cxx", ".hpp", ".hh", ".h"),
    "csharp": (".cs",),
    "go": (".go",),
    "rust": (".rs",),
    "ruby": (".rb",),
    "php": (".php",),
    "swift": (".swift",),
    "kotlin": (".kt", ".kts"),
    "scala": (".scala",),
    "shell": (".sh", ".bash"),
    "lua": (".lua",),
    "r": (".r", ".R"),
    "julia": (".jl",),
    "haskell": (".hs",),
    "sql": (".sql",),
}
ALL_CODE_EXTENSIONS = tuple(sorted({e for exts in LANGUAGE_EXTENSIONS.values() for e in exts}))


class SeedError(ValueError):
    """A seed source that cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class Seed:
    """One snippet and where it came from (written into every output record)."""

    index: int
    code: str
    origin: dict[str, Any] = field(default_factory=dict)


class SeedSource(Protocol):
    description: str

    def info(self) -> dict[str, Any]:
        """What identifies this source in the settings fingerprint."""
        ...

    def seeds(self, indices: Iterator[int] | list[int]) -> Iterator[Seed]:
        """Snippets for ascending ``indices``, in that order."""
        ...


def snippet_rng(seed: int, index: int) -> random.Random:
    # A string seed is hashed with SHA-512 by random.Random: stable across runs and Pythons.
    return random.Random(f"magitui-seed:{seed}:{index}")


def extract_snippet(text: str, rng: random.Random) -> str:
    """A random start line and 1–15 consecutive lines, as in the paper."""
    lines = text.splitlines()
    if not lines:
        return ""
    count = rng.randint(MIN_LINES, MAX_LINES)
    start = rng.randint(0, max(0, len(lines) - count))
    return "\n".join(lines[start : start + count])


def _looks_binary(head: bytes) -> bool:
    return b"\x00" in head


def _extensions_for(languages: list[str] | None, extensions: list[str] | None) -> tuple[str, ...]:
    chosen: set[str] = set()
    for language in languages or []:
        key = language.lower()
        if key not in LANGUAGE_EXTENSIONS:
            raise SeedError(
                f"unknown language {language!r} — one of: {', '.join(sorted(LANGUAGE_EXTENSIONS))}"
                " (or give file extensions with --ext)"
            )
        chosen.update(LANGUAGE_EXTENSIONS[key])
    for ext in extensions or []:
        chosen.add(ext if ext.startswith(".") else f".{ext}")
    return tuple(sorted(chosen)) if chosen else ALL_CODE_EXTENSIONS


class FolderSeeds:
    """Source files under a folder; index i picks a file and a snippet at random (seeded)."""

    def __init__(
        self,
        root: Path,
        seed: int = 0,
        languages: list[str] | None = None,
        extensions: list[str] | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        if not root.is_dir():
            raise SeedError(f"seed folder {root} does not exist — give a folder of source code")
        self.root = root
        self.seed = seed
        self.extensions = _extensions_for(languages, extensions)
        self.max_file_bytes = max_file_bytes
        self.files = self._scan()
        if not self.files:
            raise SeedError(
                f"seed folder {root} has no usable source files with extensions "
                f"{', '.join(self.extensions)} — point it at code or pass --language/--ext"
            )
        self.description = f"{root} ({len(self.files)} files)"

    def _scan(self) -> list[Path]:
        files: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            # Pruned in place so os.walk never descends into them; sorted for determinism.
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith(".")
            )
            for name in sorted(filenames):
                if not name.endswith(self.extensions) or name.endswith(GENERATED_SUFFIXES):
                    continue
                path = Path(dirpath) / name
                try:
                    size = path.stat().st_size
                    if size == 0 or size > self.max_file_bytes or not path.is_file():
                        continue
                    with path.open("rb") as handle:
                        if _looks_binary(handle.read(8192)):
                            continue
                except OSError:
                    continue
                files.append(path)
        return files

    def info(self) -> dict[str, Any]:
        return {
            "kind": "folder",
            "path": str(self.root.resolve()),
            "extensions": list(self.extensions),
            "files": len(self.files),
        }

    def seeds(self, indices: Iterator[int] | list[int]) -> Iterator[Seed]:
        for index in indices:
            rng = snippet_rng(self.seed, index)
            # A few tries: an unreadable or blank region should not leave an index seedless.
            code, path = "", self.files[0]
            for _ in range(8):
                path = self.files[rng.randrange(len(self.files))]
                try:
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                code = extract_snippet(text, rng)
                if code.strip():
                    break
            yield Seed(index, code, {"source": "folder", "file": str(path.relative_to(self.root))})


class JsonlSeeds:
    """Records of a JSONL file; index i uses record i (mod the record count)."""

    def __init__(self, path: Path, seed: int = 0, column: str = DEFAULT_TEXT_COLUMN) -> None:
        if not path.is_file():
            raise SeedError(f"seed file {path} does not exist — give a .jsonl file of code")
        self.path = path
        self.seed = seed
        self.column = column
        # Byte offsets, not texts: a multi-GB seed file costs a few bytes per record.
        self.offsets = self._index()
        if not self.offsets:
            raise SeedError(f"seed file {path} has no records — it needs one JSON object a line")
        self.description = f"{path} ({len(self.offsets)} records)"

    def _index(self) -> list[int]:
        offsets: list[int] = []
        position = 0
        with self.path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    offsets.append(position)
                position += len(line)
        return offsets

    def _text(self, handle: Any, record: int) -> str:
        handle.seek(self.offsets[record])
        line = handle.readline()
        try:
            data = json.loads(line)
        except ValueError:
            raise SeedError(
                f"{self.path}: record {record + 1} is not valid JSON — fix or remove that line"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get(self.column), str):
            keys = ", ".join(sorted(data)) if isinstance(data, dict) else type(data).__name__
            raise SeedError(
                f"{self.path}: record {record + 1} has no text column {self.column!r} "
                f"(has: {keys}) — pick the column with --text-column"
            )
        return data[self.column]

    def info(self) -> dict[str, Any]:
        return {
            "kind": "jsonl",
            "path": str(self.path.resolve()),
            "column": self.column,
            "records": len(self.offsets),
        }

    def seeds(self, indices: Iterator[int] | list[int]) -> Iterator[Seed]:
        with self.path.open("rb") as handle:
            for index in indices:
                record = index % len(self.offsets)
                code = extract_snippet(self._text(handle, record), snippet_rng(self.seed, index))
                yield Seed(index, code, {"source": "jsonl", "record": record})


class HubStreamSeeds:
    """A Hugging Face dataset read as a stream: document i seeds index i.

    Only the documents up to the last requested index are read; nothing is
    downloaded whole. ``data_files`` streams local files through the same code
    path (how the tests run offline).
    """

    def __init__(
        self,
        dataset: str = DEFAULT_HF_DATASET,
        data_dir: str | None = DEFAULT_HF_DATA_DIR,
        seed: int = 0,
        column: str = DEFAULT_TEXT_COLUMN,
        split: str = "train",
        token: str | None = None,
        data_files: str | list[str] | None = None,
    ) -> None:
        self.dataset = dataset
        self.data_dir = data_dir
        self.seed = seed
        self.column = column
        self.split = split
        self.token = token
        self.data_files = data_files
        where = f"{dataset}:{data_dir}" if data_dir else dataset
        self.description = f"hf:{where} (streaming)"

    def info(self) -> dict[str, Any]:
        return {
            "kind": "hf",
            "dataset": self.dataset,
            "data_dir": self.data_dir,
            "column": self.column,
            "split": self.split,
        }

    def _hub_error(self, exc: BaseException) -> str:
        return hub_error_message(self.dataset, exc, has_token=bool(self.token))

    def _stream(self) -> Any:
        try:
            import datasets
        except ImportError:
            raise SeedError(
                "the hf: seed source needs the `datasets` package — install it: "
                "pip install 'magitui[hf]' (or pip install datasets)"
            ) from None
        kwargs: dict[str, Any] = {"split": self.split, "streaming": True}
        if self.data_dir:
            kwargs["data_dir"] = self.data_dir
        if self.data_files is not None:
            kwargs["data_files"] = self.data_files
        if self.token:
            kwargs["token"] = self.token
        try:
            return datasets.load_dataset(self.dataset, **kwargs)
        except Exception as exc:
            raise SeedError(self._hub_error(exc)) from None

    def seeds(self, indices: Iterator[int] | list[int]) -> Iterator[Seed]:
        wanted = iter(indices)
        next_index = next(wanted, None)
        if next_index is None:
            return
        stream = self._stream()
        try:
            for position, row in enumerate(stream):
                if position < next_index:
                    continue
                text = row.get(self.column)
                if not isinstance(text, str):
                    raise SeedError(
                        f"hf:{self.dataset} has no text column {self.column!r} "
                        f"(has: {', '.join(sorted(row))}) — pick it with --text-column"
                    )
                rng = snippet_rng(self.seed, next_index)
                yield Seed(
                    next_index,
                    extract_snippet(text, rng),
                    {"source": "hf", "dataset": self.dataset, "row": position},
                )
                next_index = next(wanted, None)
                if next_index is None:
                    return
        except SeedError:
            raise
        except Exception as exc:
            raise SeedError(self._hub_error(exc)) from None
        if next_index is not None:
            raise SeedError(
                f"hf:{self.dataset} ended before index {next_index} — ask for fewer samples "
                "(--count) or a lower --start"
            )


def hub_error_message(dataset: str, exc: BaseException, has_token: bool) -> str:
    """One line for a dataset the hub would not give: gated, missing, or unreachable."""
    names = {type(e).__name__ for e in _exception_chain(exc)}
    text = " ".join(str(e) for e in _exception_chain(exc)).lower()
    gated = "GatedRepoError" in names or "gated" in text
    if gated or (("401" in text or "unauthorized" in text) and not has_token):
        if not has_token:
            return (
                f"hf:{dataset} is a gated dataset and no Hugging Face token is set — accept its "
                f"terms at https://huggingface.co/datasets/{dataset}, then set HF_TOKEN or run "
                "`magitui credentials set hf_token`"
            )
        return (
            f"hf:{dataset} is gated and your token has no access — accept its terms at "
            f"https://huggingface.co/datasets/{dataset} with the account that owns the token"
        )
    if "RepositoryNotFoundError" in names or "DatasetNotFoundError" in names:
        return f"hf:{dataset} was not found on the hub — check the name (hf:OWNER/NAME[:DATA_DIR])"
    if any(n in names for n in ("ConnectionError", "ConnectError", "OfflineModeIsEnabled")):
        return (
            f"hf:{dataset} cannot be reached (no network?) — use a local folder or a .jsonl "
            "file as the seed source"
        )
    return f"hf:{dataset} cannot be streamed: {type(exc).__name__}: {exc}"


def _exception_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def open_seed_source(
    spec: str,
    seed: int = 0,
    column: str = DEFAULT_TEXT_COLUMN,
    languages: list[str] | None = None,
    extensions: list[str] | None = None,
    hf_token: str | None = None,
) -> SeedSource:
    """SOURCE as the command line gives it: a folder, a .jsonl file, or hf:DATASET[:DATA_DIR]."""
    if spec.startswith("hf:"):
        rest = spec[3:]
        dataset, _, data_dir = rest.partition(":")
        if not dataset:
            raise SeedError(f"seed source {spec!r} names no dataset — e.g. hf:{DEFAULT_HF_DATASET}")
        if dataset == DEFAULT_HF_DATASET and not data_dir:
            data_dir = DEFAULT_HF_DATA_DIR
        return HubStreamSeeds(dataset, data_dir or None, seed, column, token=hf_token)
    path = Path(spec).expanduser()
    if path.is_dir():
        return FolderSeeds(path, seed, languages, extensions)
    if path.suffix == ".jsonl" or path.is_file():
        return JsonlSeeds(path, seed, column)
    raise SeedError(
        f"seed source {spec!r} is neither a folder, a .jsonl file nor hf:DATASET[:DATA_DIR] "
        "— e.g. --seeds ./my-code or --seeds hf:bigcode/starcoderdata:python"
    )
