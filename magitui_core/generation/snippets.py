"""Seed snippets chosen exactly as upstream Magicoder's generate_data.py chooses them.

Upstream loads the first ``max_considered_data`` (150 000) documents, maps them in batches of
``chunk_size`` (1000) re-seeding Python's ``random`` with ``seed + first index of the batch`` (976
+ chunk start), and per document takes ``start = random.choice(range(len(lines)))`` then
``n = random.randint(1, 15)`` and joins ``lines[start:start + n]`` as split with their line
endings kept (so a snippet may stop at the end of the document, and keeps CRLF and the final
newline). It then permutes the documents with ``datasets``' ``shuffle(seed=976)``; index *i* is
the *i*-th document after the shuffle and ``raw_index`` its position before.

Because one document's draw depends on every earlier document of its chunk (how many random
bits ``choice`` consumes depends on the line count), a snippet can only be computed by replaying
its chunk from the start. ``SnippetTable`` replays every considered document once and keeps the
snippets in a file beside the output, so a streamed dataset is read once per run, not per index.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

RECIPE_SEED = 976
CHUNK_SIZE = 1000
MAX_CONSIDERED = 150_000
MIN_LINES = 1
MAX_LINES = 15
TABLE_FOLDER = ".seed-snippets"  # beside the output file, i.e. inside the run's data/
PROGRESS_EVERY = 5000  # documents between progress reports while a table is built

Progress = Callable[[int], None]


def extract_snippet(document: str, rng: random.Random) -> str | None:
    """Upstream's ``extract_seed_code``; None for a document with no lines.

    Upstream crashes on such a document (``random.choice`` of an empty range raises before it
    draws anything), so None consumes no randomness and the following documents of the chunk
    get exactly the snippets upstream would have given them had it skipped the empty one.
    """
    lines = document.splitlines(keepends=True)
    if not lines:
        return None
    start = rng.choice(range(len(lines)))
    count = rng.randint(MIN_LINES, MAX_LINES)
    return "".join(lines[start : start + count])


def replay_snippets(
    documents: Iterable[str], seed: int = RECIPE_SEED, chunk_size: int = CHUNK_SIZE
) -> Iterator[str | None]:
    """The snippet of each document, in document order, with upstream's chunked seeding."""
    rng = random.Random()
    for position, document in enumerate(documents):
        if position % chunk_size == 0:
            rng.seed(seed + position)  # the same state as upstream's random.seed(seed + index)
        yield extract_snippet(document, rng)


def shuffled_order(size: int, seed: int = RECIPE_SEED) -> list[int]:
    """``raw_index`` of each index: the permutation ``datasets.Dataset.shuffle(seed=seed)`` uses.

    datasets draws it as ``np.random.default_rng(seed).permutation(len(dataset))``; the tests
    compare it with a real ``Dataset.shuffle``.
    """
    import numpy as np  # a dependency of datasketch, so always installed; deferred for start-up

    return [int(value) for value in np.random.default_rng(seed).permutation(size)]


def table_key(identity: dict[str, Any]) -> str:
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


class SnippetTable:
    """The snippets of the first N documents of a source, one JSON line each, on disk.

    Built once (atomically: a partial table is never mistaken for a whole one) and then read by
    byte offset, so a 150 000-document table costs a few MB of memory, not its text.
    """

    def __init__(self, folder: Path, identity: dict[str, Any]) -> None:
        self.identity = identity
        key = table_key(identity)
        self.path = folder / f"{key}.jsonl"
        self.meta_path = folder / f"{key}.json"
        self.offsets: list[int] = []

    def load(self) -> bool:
        """Open a complete table built earlier for the same identity; False if there is none."""
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if meta.get("identity") != json.loads(json.dumps(self.identity, default=str)):
            return False
        offsets = self._index()
        if offsets is None or len(offsets) != meta.get("documents"):
            return False
        self.offsets = offsets
        return True

    def build(
        self, documents: Iterable[str], seed: int, chunk_size: int, progress: Progress
    ) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + f".partial-{os.getpid()}")
        count = 0
        try:
            with partial.open("w", encoding="utf-8") as handle:
                for snippet in replay_snippets(documents, seed, chunk_size):
                    handle.write(json.dumps(snippet, ensure_ascii=False) + "\n")
                    count += 1
                    if count % PROGRESS_EVERY == 0:
                        progress(count)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, self.path)
        finally:
            partial.unlink(missing_ok=True)
        meta = {"identity": self.identity, "documents": count}
        meta_partial = self.meta_path.with_name(self.meta_path.name + f".partial-{os.getpid()}")
        meta_partial.write_text(json.dumps(meta, default=str), encoding="utf-8")
        os.replace(meta_partial, self.meta_path)
        progress(count)
        offsets = self._index()
        assert offsets is not None and len(offsets) == count
        self.offsets = offsets

    def _index(self) -> list[int] | None:
        offsets: list[int] = []
        position = 0
        try:
            with self.path.open("rb") as handle:
                for line in handle:
                    offsets.append(position)
                    position += len(line)
        except OSError:
            return None
        return offsets

    def __len__(self) -> int:
        return len(self.offsets)

    @contextlib.contextmanager
    def open(self) -> Iterator[Callable[[int], str | None]]:
        """A function from raw index to snippet (None: an empty document), over one handle."""
        with self.path.open("rb") as handle:

            def read(raw_index: int) -> str | None:
                handle.seek(self.offsets[raw_index])
                value = json.loads(handle.readline())
                return value if isinstance(value, str) else None

            yield read
