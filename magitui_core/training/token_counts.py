"""Training-token counts of data rows with the base model's own tokenizer, when it is on disk.

The Data screen checks rows against the max_len the run's training uses; an estimate from
characters is off by tens of percent for code, so where the base model's `tokenizer.json`
is at hand (a model folder, or the Hugging Face cache — never a download) the rows are
counted with it, through the `tokenizers` library alone (no transformers, no torch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from magitui_core.jobs.status import command_value
from magitui_core.training.recipe import MAGICODER

if TYPE_CHECKING:
    from magitui_core.jobs.manager import JobManager

TOKENIZER_FILE = "tokenizer.json"
BATCH = 2000  # texts per encode_batch: the Rust side runs them in parallel


@dataclass(frozen=True)
class RunTraining:
    """What a run's newest training was (or will be) started with, as far as data checks go."""

    base_model: str | None
    max_len: int
    max_len_source: str  # "the run's training" or "the recipe's"


def run_training(jobs: JobManager, run: str | None) -> RunTraining:
    """The base model and max_len of the run's newest training job; the recipe's max_len
    where the run has none yet."""
    trainings = [
        job
        for job in jobs.list_jobs()
        if job.status.kind == "train" and run is not None and job.status.run == run
    ]
    for job in trainings:  # newest first
        command = list(job.status.command)
        model = command_value(command, "--base-model")
        length = command_value(command, "--max-seq-len")
        if length is not None and length.isdigit():
            return RunTraining(model, int(length), "the run's training")
        if model is not None:
            return RunTraining(model, MAGICODER.max_len, "the recipe's")
    return RunTraining(None, MAGICODER.max_len, "the recipe's")


def tokenizer_file(model: str) -> Path | None:
    """The model's tokenizer.json in its folder or in the Hugging Face cache (no download)."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        found = folder / TOKENIZER_FILE
        return found if found.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache
        from huggingface_hub.utils import HFValidationError

        cached = try_to_load_from_cache(model, TOKENIZER_FILE)
    except (HFValidationError, ValueError, OSError):
        return None
    return Path(cached) if isinstance(cached, str) else None


def count_tokens(
    path: Path, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
) -> list[int]:
    """Tokens of each text as the tokenizer in ``path`` encodes it, special tokens included
    (training adds BOS and EOS)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    counts: list[int] = []
    for start in range(0, len(texts), BATCH):
        batch = list(texts[start : start + BATCH])
        counts += [len(encoding.ids) for encoding in tokenizer.encode_batch(batch)]
        if progress is not None:
            progress(len(counts), len(texts))
    return counts
