"""Seed sources: where OSS-Instruct's random code snippets come from.

Three kinds, chosen by a SOURCE string:

- a JSONL file (``seeds.jsonl``) with a text column, and
- a Hugging Face dataset in streaming mode (``hf:DATASET[:DATA_DIR]``, by default
  ``bigcode/starcoderdata`` ``python``, never downloaded whole): both replay upstream Magicoder's
  selection exactly (see ``snippets``): the first ``max_considered`` documents, a snippet each
  with its chunk-seeded draw, then datasets' shuffle; index i is the i-th shuffled document;
- a folder of source code (``path/to/code``), which has no upstream twin: files are walked in
  sorted order (folders and names sorted, binaries, vendored/generated folders and huge files
  skipped), index i picks a file with a ``random.Random`` seeded by (seed, index) and takes a
  snippet with upstream's rule, so index i always gets the same snippet whatever order or
  resume point it is generated in.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from magitui_core.generation.snippets import (
    CHUNK_SIZE,
    MAX_CONSIDERED,
    RECIPE_SEED,
    TABLE_FOLDER,
    Progress,
    SnippetTable,
    extract_snippet,
    shuffled_order,
)

DEFAULT_HF_DATASET = "bigcode/starcoderdata"
DEFAULT_HF_DATA_DIR = "python"
DEFAULT_TEXT_COLUMN = "content"
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
    raw_index: int | None = None  # the document's position before the shuffle (upstream's)


class SeedSource(Protocol):
    description: str

    def info(self) -> dict[str, Any]:
        """What identifies this source in the settings fingerprint."""
        ...

    def prepare(self, folder: Path, progress: Progress) -> int | None:
        """Get ready to hand out seeds (may read the whole source once, reporting documents
        read); the number of indices it has, or None when it has no end."""
        ...

    def seeds(self, indices: Iterator[int] | list[int]) -> Iterator[Seed]:
        """Snippets for ascending ``indices`` below the prepared size, in that order."""
        ...


def snippet_rng(seed: int, index: int) -> random.Random:
    # A string seed is hashed with SHA-512 by random.Random: stable across runs and Pythons.
    return random.Random(f"magitui-seed:{seed}:{index}")


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
        seed: int = RECIPE_SEED,
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

    def prepare(self, folder: Path, progress: Progress) -> int | None:
        return None  # any index has a snippet: files are drawn per index

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
                code = extract_snippet(text, rng) or ""
                if code.strip():
                    break
            yield Seed(index, code, {"source": "folder", "file": str(path.relative_to(self.root))})


class DocumentSeeds:
    """The first ``max_considered`` documents of a source, replayed as upstream selects them.

    Subclasses say how to read the documents in order; this class turns them into a snippet
    table (built once, beside the output) and hands out index i = the i-th document after
    datasets' shuffle, with its ``raw_index``.
    """

    description: str
    name: str  # the source as the user named it

    def __init__(
        self,
        seed: int = RECIPE_SEED,
        max_considered: int = MAX_CONSIDERED,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        if max_considered < 1:
            raise SeedError(f"--max-considered {max_considered} — must be at least 1")
        self.seed = seed
        self.max_considered = max_considered
        self.chunk_size = chunk_size
        self.table: SnippetTable | None = None
        self.order: list[int] = []

    def identity(self) -> dict[str, Any]:
        """What decides the documents read, in order (subclasses add theirs)."""
        return {"max_considered": self.max_considered, "chunk_size": self.chunk_size}

    def documents(self) -> Iterator[str]:
        raise NotImplementedError

    def origin(self, raw_index: int) -> dict[str, Any]:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        return self.identity()

    def prepare(self, folder: Path, progress: Progress) -> int | None:
        identity = {**self.identity(), "seed": self.seed, "rule": "magicoder"}
        table = SnippetTable(folder / TABLE_FOLDER, identity)
        if not table.load():
            first = itertools.islice(self.documents(), self.max_considered)
            try:
                table.build(first, self.seed, self.chunk_size, progress)
            except OSError as exc:
                raise SeedError(
                    f"cannot keep the seed snippets in {table.path.parent}: "
                    f"{exc.strerror or exc} — free space there (or choose another --out) and "
                    "rerun the same command"
                ) from None
        if not len(table):
            raise SeedError(f"{self.description} has no documents — give it records with code")
        self.table = table
        self.order = shuffled_order(len(table), self.seed)
        self.description = f"{self.name} ({len(table):,} documents, shuffled as upstream)"
        return len(table)

    def seeds(self, indices: Iterator[int] | list[int]) -> Iterator[Seed]:
        if self.table is None:
            raise RuntimeError("prepare() the seed source first")
        with self.table.open() as read:
            for index in indices:
                if index >= len(self.order):
                    return
                raw_index = self.order[index]
                yield Seed(index, read(raw_index) or "", self.origin(raw_index), raw_index)


class JsonlSeeds(DocumentSeeds):
    """A JSONL file, one document a line in its text column (upstream's ``content``)."""

    def __init__(
        self,
        path: Path,
        seed: int = RECIPE_SEED,
        column: str = DEFAULT_TEXT_COLUMN,
        max_considered: int = MAX_CONSIDERED,
    ) -> None:
        if not path.is_file():
            raise SeedError(f"seed file {path} does not exist — give a .jsonl file of code")
        super().__init__(seed, max_considered)
        self.path = path
        self.column = column
        self.name = str(path)
        self.description = f"{path} (its first {max_considered:,} records at most)"

    def identity(self) -> dict[str, Any]:
        stat = self.path.stat()
        return {
            "kind": "jsonl",
            "path": str(self.path.resolve()),
            "column": self.column,
            "bytes": stat.st_size,
            **super().identity(),
        }

    def documents(self) -> Iterator[str]:
        with self.path.open("rb") as handle:
            number = 0
            for line in handle:
                if not line.strip():
                    continue  # blank lines are not records (datasets' json loader skips them)
                number += 1
                yield self._text(line, number)

    def _text(self, line: bytes, number: int) -> str:
        try:
            data = json.loads(line)
        except ValueError:
            raise SeedError(
                f"{self.path}: record {number} is not valid JSON — fix or remove that line"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get(self.column), str):
            keys = ", ".join(sorted(data)) if isinstance(data, dict) else type(data).__name__
            raise SeedError(
                f"{self.path}: record {number} has no text column {self.column!r} "
                f"(has: {keys}) — pick the column with --text-column"
            )
        return data[self.column]

    def origin(self, raw_index: int) -> dict[str, Any]:
        return {"source": "jsonl", "record": raw_index}


class HubStreamSeeds(DocumentSeeds):
    """A Hugging Face dataset read as a stream: its first ``max_considered`` rows, once.

    ``data_files`` streams local files through the same code path (how the tests run offline).
    """

    def __init__(
        self,
        dataset: str = DEFAULT_HF_DATASET,
        data_dir: str | None = DEFAULT_HF_DATA_DIR,
        seed: int = RECIPE_SEED,
        column: str = DEFAULT_TEXT_COLUMN,
        split: str = "train",
        token: str | None = None,
        data_files: str | list[str] | None = None,
        max_considered: int = MAX_CONSIDERED,
    ) -> None:
        super().__init__(seed, max_considered)
        self.dataset = dataset
        self.data_dir = data_dir
        self.column = column
        self.split = split
        self.token = token
        self.data_files = data_files
        where = f"{dataset}:{data_dir}" if data_dir else dataset
        self.name = f"hf:{where}"
        self.description = f"hf:{where} (its first {max_considered:,} rows at most, streamed)"

    def identity(self) -> dict[str, Any]:
        return {
            "kind": "hf",
            "dataset": self.dataset,
            "data_dir": self.data_dir,
            "column": self.column,
            "split": self.split,
            **({"data_files": self.data_files} if self.data_files is not None else {}),
            **super().identity(),
        }

    def origin(self, raw_index: int) -> dict[str, Any]:
        return {"source": "hf", "dataset": self.dataset, "row": raw_index}

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

    def documents(self) -> Iterator[str]:
        stream = self._stream()
        try:
            for row in stream:
                text = row.get(self.column)
                if not isinstance(text, str):
                    raise SeedError(
                        f"hf:{self.dataset} has no text column {self.column!r} "
                        f"(has: {', '.join(sorted(row))}) — pick it with --text-column"
                    )
                yield text
        except SeedError:
            raise
        except Exception as exc:
            raise SeedError(self._hub_error(exc)) from None


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
    seed: int = RECIPE_SEED,
    column: str = DEFAULT_TEXT_COLUMN,
    languages: list[str] | None = None,
    extensions: list[str] | None = None,
    hf_token: str | None = None,
    max_considered: int = MAX_CONSIDERED,
) -> SeedSource:
    """SOURCE as the command line gives it: a folder, a .jsonl file, or hf:DATASET[:DATA_DIR]."""
    if spec.startswith("hf:"):
        rest = spec[3:]
        dataset, _, data_dir = rest.partition(":")
        if not dataset:
            raise SeedError(f"seed source {spec!r} names no dataset — e.g. hf:{DEFAULT_HF_DATASET}")
        if dataset == DEFAULT_HF_DATASET and not data_dir:
            data_dir = DEFAULT_HF_DATA_DIR
        return HubStreamSeeds(
            dataset, data_dir or None, seed, column, token=hf_token, max_considered=max_considered
        )
    path = Path(spec).expanduser()
    if path.is_dir():
        return FolderSeeds(path, seed, languages, extensions)
    if path.suffix == ".jsonl" or path.is_file():
        return JsonlSeeds(path, seed, column, max_considered)
    raise SeedError(
        f"seed source {spec!r} is neither a folder, a .jsonl file nor hf:DATASET[:DATA_DIR] "
        "— e.g. --seeds ./my-code or --seeds hf:bigcode/starcoderdata:python"
    )
