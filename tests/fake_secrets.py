"""Secrets for tests, shaped like real ones (redaction matches the shape) but assembled at
run time, so no literal in the repository looks like a credential to a secret scanner."""

from __future__ import annotations


def fake_openai_key(body: str) -> str:
    """``sk-<body>``: an OpenAI-shaped key that was never issued."""
    return "-".join(("sk", body))


def fake_hf_token(body: str) -> str:
    """``hf_<body>``: a Hugging Face-shaped token that was never issued."""
    return "_".join(("hf", body))
