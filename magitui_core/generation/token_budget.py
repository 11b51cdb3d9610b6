"""How many tokens a prompt costs, and how many the answer may have.

tiktoken knows only OpenAI's models and must download its BPE files, which
fails offline; other models are counted with their own Hugging Face tokenizer
when it is on disk; otherwise a conservative estimate is used. Never a crash.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

OPENAI_MODEL = re.compile(r"^(gpt-|o\d|chatgpt-|text-|davinci|babbage|ft:gpt)", re.IGNORECASE)


@dataclass
class TokenCounter:
    """Counts tokens; ``method`` says how (shown to the user once)."""

    count: Callable[[str], int]
    method: str
    exact: bool


def estimate_tokens(text: str) -> int:
    # Byte-level BPEs average 3–4 bytes per token on code; 3 over-counts, which is the safe side.
    return math.ceil(len(text.encode("utf-8")) / 3)


def _tiktoken_counter(model: str) -> TokenCounter | None:
    try:
        import tiktoken

        try:
            encoding = tiktoken.encoding_for_model(model)
        except KeyError:
            encoding = tiktoken.get_encoding("o200k_base")
        encoding.encode("probe")  # loading is lazy in some versions: fail here, not later
    except Exception:  # offline download failure, unknown model: fall back, never crash
        return None
    return TokenCounter(lambda text: len(encoding.encode(text)), f"tiktoken {encoding.name}", True)


def _local_tokenizer_file(model: str) -> Path | None:
    """tokenizer.json of ``model`` if it is a local folder or already in the HF cache."""
    folder = Path(model).expanduser()
    if (folder / "tokenizer.json").is_file():
        return folder / "tokenizer.json"
    if "/" not in model or model.startswith(("/", ".", "~")):
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(model, "tokenizer.json")
    except Exception:
        return None
    return Path(found) if isinstance(found, str) else None


def _hf_counter(model: str) -> TokenCounter | None:
    path = _local_tokenizer_file(model)
    if path is None:
        return None
    try:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
    except Exception:
        return None
    return TokenCounter(
        lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids),
        f"the model's own tokenizer ({path})",
        True,
    )


def token_counter(model: str) -> TokenCounter:
    """The best counter available offline for ``model``."""
    counter = None
    if OPENAI_MODEL.match(model):
        counter = _tiktoken_counter(model)
    counter = counter or _hf_counter(model)
    return counter or TokenCounter(estimate_tokens, "an estimate (3 bytes per token)", False)


def answer_budget(
    limit: int, context_length: int | None, prompt_tokens: int, margin: int
) -> int | None:
    """max_tokens for one request: the limit, capped by what the context has room for.

    None means the prompt leaves no room for an answer at all.
    """
    if context_length is None:
        return limit
    room = context_length - prompt_tokens - margin
    if room <= 0:
        return None
    return min(limit, room)
