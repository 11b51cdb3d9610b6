"""A model named on a command line or in a form: a local folder or a Hugging Face id, decided
once, so that a mistyped path is refused in one line before anything starts (instead of
reaching huggingface_hub as a malformed repo id, or a job that fails seconds later)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# huggingface_hub's repo id rule: [org/]name of letters, digits, - _ . (no -- or ..), ≤ 96.
_HUB_ID = re.compile(r"(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}")
EXAMPLE_ID = "deepseek-ai/deepseek-coder-6.7b-base"


class ModelSourceError(ValueError):
    """Neither an existing folder nor a well-formed Hub id; the message says which and how."""


@dataclass(frozen=True)
class ModelSource:
    text: str  # as given
    folder: Path | None  # the resolved folder of a local model; None for a Hub id

    @property
    def is_local(self) -> bool:
        return self.folder is not None


def looks_like_path(text: str) -> bool:
    """What only a path can be: absolute, home- or dot-relative, or more than one '/'."""
    return text.startswith(("/", "~", "./", "../")) or text in {".", ".."} or text.count("/") > 1


def is_hub_id(text: str) -> bool:
    """Whether ``text`` is a well-formed Hugging Face repo id ([org/]name)."""
    return bool(_HUB_ID.fullmatch(text)) and "--" not in text and ".." not in text


def model_source(text: str, what: str = "model") -> ModelSource:
    value = text.strip()
    if not value:
        raise ModelSourceError(
            f"no {what} given — a model folder, or a Hugging Face id like {EXAMPLE_ID}"
        )
    path = Path(value).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelSourceError(
                f"{what} {value} is a file — give the model's folder (the one with config.json)"
            )
        return ModelSource(value, path.resolve())
    if looks_like_path(value):
        raise ModelSourceError(
            f"{what} folder {value} does not exist — check the path, or give a Hugging Face id "
            f"like {EXAMPLE_ID}"
        )
    if not is_hub_id(value):
        raise ModelSourceError(
            f"{what} {value!r} is neither an existing folder nor a Hugging Face id — give a "
            f"folder, or an id like {EXAMPLE_ID}"
        )
    return ModelSource(value, None)
