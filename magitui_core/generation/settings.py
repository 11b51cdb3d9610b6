"""What a generation is asked to do: its settings, their checks, and small shared pieces.

Light on purpose (no openai import): the Generate screen and `magitui generate
--detach` use it without loading the HTTP client, which only the job needs.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.generation.output import OutputError
from magitui_core.generation.seeds import DEFAULT_TEXT_COLUMN, SeedError, SeedSource
from magitui_core.generation.snippets import MAX_CONSIDERED, RECIPE_SEED
from magitui_core.prompts import OSS_INSTRUCT_SYSTEM, PromptError

DEFAULT_CONCURRENCY = 64
DEFAULT_TIMEOUT = 300.0
DEFAULT_ATTEMPTS = 6
# Upstream's request: max_tokens = min(2500, 8192 − tokens of the prompt − 10), temperature 0,
# n 1 and seed 976 + index; only finish_reason "stop" is kept.
DEFAULT_MAX_TOKENS = 2500
DEFAULT_MODEL_CONTEXT = 8192
PROMPT_MARGIN = 10  # upstream's ERROR_MARGIN: conversation tokens its count does not see
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
PAUSE_MARKER = "pause-requested"  # in the job folder: present = dispatch no new requests


@dataclass
class GenerationSettings:
    base_url: str
    model: str
    seeds: str
    count: int
    out: Path
    start: int = 0
    concurrency: int = DEFAULT_CONCURRENCY
    temperature: float = 0.0
    max_tokens: int = DEFAULT_MAX_TOKENS
    seed: int = RECIPE_SEED  # snippet selection, and seed + index is each request's seed
    model_context: int = DEFAULT_MODEL_CONTEXT
    max_considered: int = MAX_CONSIDERED  # JSONL / hf: sources: documents snippets come from
    api_key_env: str = DEFAULT_API_KEY_ENV
    prompt_file: Path | None = None
    force: bool = False
    timeout: float = DEFAULT_TIMEOUT
    attempts: int = DEFAULT_ATTEMPTS
    backoff_base: float = 0.5
    text_column: str = DEFAULT_TEXT_COLUMN
    languages: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    extra_base_urls: list[str] = field(default_factory=list)  # more servers of the same model

    @property
    def endpoints(self) -> list[str]:
        return [self.base_url, *self.extra_base_urls]

    def validate(self) -> None:
        checks = [
            (self.count >= 1, f"--count {self.count} — must be at least 1"),
            (self.start >= 0, f"--start {self.start} — must be 0 or more"),
            (self.concurrency >= 1, f"--concurrency {self.concurrency} — must be at least 1"),
            (self.max_tokens >= 1, f"--max-tokens {self.max_tokens} — must be at least 1"),
            (
                self.model_context > PROMPT_MARGIN,
                f"--model-context {self.model_context} — must be more than {PROMPT_MARGIN} tokens",
            ),
            (
                self.max_considered >= 1,
                f"--max-considered {self.max_considered} — must be at least 1",
            ),
            (0 <= self.temperature <= 2, f"--temperature {self.temperature} — must be 0 to 2"),
            (self.out.suffix == ".jsonl", f"--out {self.out} — must end in .jsonl"),
            (bool(self.model), "--model is empty — name the teacher model (e.g. gpt-4o-mini)"),
            *(
                (
                    url.startswith(("http://", "https://")),
                    f"--base-url {url!r} — must start with http:// or https://",
                )
                for url in self.endpoints
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise GenerationError(message)

    def fingerprint_fields(self, source: SeedSource, template: str) -> dict[str, Any]:
        """What decides the content of index i; other settings may change between reruns."""
        return {
            "model": self.model,
            "seed_source": source.info(),
            "seed": self.seed,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "model_context": self.model_context,
            "prompt_sha256": hashlib.sha256(template.encode("utf-8")).hexdigest()[:16],
            "system_sha256": hashlib.sha256(OSS_INSTRUCT_SYSTEM.encode("utf-8")).hexdigest()[:16],
        }

    def to_argv(self) -> list[str]:
        """The job's command-line arguments (no secrets: the key travels in the environment)."""
        argv = [
            "--base-url",
            self.base_url,
            "--model",
            self.model,
            "--seeds",
            self.seeds,
            "--count",
            str(self.count),
            "--out",
            str(self.out),
            "--start",
            str(self.start),
            "--concurrency",
            str(self.concurrency),
            "--temperature",
            str(self.temperature),
            "--max-tokens",
            str(self.max_tokens),
            "--seed",
            str(self.seed),
            "--model-context",
            str(self.model_context),
            "--max-considered",
            str(self.max_considered),
            "--api-key-env",
            self.api_key_env,
            "--timeout",
            str(self.timeout),
            "--attempts",
            str(self.attempts),
            "--backoff-base",
            str(self.backoff_base),
            "--text-column",
            self.text_column,
        ]
        for url in self.extra_base_urls:
            argv += ["--base-url", url]
        if self.prompt_file:
            argv += ["--prompt-file", str(self.prompt_file)]
        for language in self.languages:
            argv += ["--language", language]
        for ext in self.extensions:
            argv += ["--ext", ext]
        if self.force:
            argv.append("--force")
        return argv


class GenerationError(ValueError):
    """Settings or inputs that stop a generation before it starts."""


def api_key_from(env_name: str) -> str | None:
    """The key from the named variable, else the stored credential (never from argv)."""
    value = os.environ.get(env_name)
    if value:
        return value
    from magitui_core.credentials import resolve

    return resolve("openai_api_key").value


INPUT_ERRORS = (GenerationError, SeedError, OutputError, PromptError)
