"""Secrets (teacher API key, Hugging Face token): read, store 0600, mask, redact.

They are never part of config.toml, job status files, events or logs written by
magitui. The environment wins; otherwise a separate credentials file is used.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from magitui_core import paths
from magitui_core.atomic import write_text_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class SecretSpec:
    name: str
    env: str
    label: str


SECRETS: dict[str, SecretSpec] = {
    "openai_api_key": SecretSpec("openai_api_key", "OPENAI_API_KEY", "Teacher API key"),
    "hf_token": SecretSpec("hf_token", "HF_TOKEN", "Hugging Face token"),
}

# Shapes of well-known keys, so they are scrubbed even when magitui never saw the value.
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{16,}|hf_[A-Za-z0-9]{20,})\b")
_SECRET_FLAGS = ("--api-key", "--api_key", "--token", "--hf-token", "--openai-api-key")


@dataclass(frozen=True)
class ResolvedSecret:
    value: str | None
    source: str  # human-readable origin, e.g. "environment (OPENAI_API_KEY)"

    @property
    def masked(self) -> str:
        return mask(self.value) if self.value else "not set"


class CredentialsError(Exception):
    pass


def mask(value: str) -> str:
    """Enough to recognise a key, never enough to use it."""
    if len(value) <= 8:
        return "•" * len(value)
    return f"{value[:3]}…{value[-4:]}"


def _hf_token_file() -> Path:
    if os.environ.get("HF_TOKEN_PATH"):
        return Path(os.environ["HF_TOKEN_PATH"]).expanduser()
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface"
    )
    return Path(hf_home).expanduser() / "token"


def load_credentials_file(path: Path | None = None) -> dict[str, str]:
    file = path or paths.credentials_file()
    if not file.exists():
        return {}
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CredentialsError(f"{file}: cannot read credentials ({exc})") from None
    return {k: v for k, v in data.items() if k in SECRETS and isinstance(v, str) and v}


def permission_warning(path: Path | None = None) -> str | None:
    """A credentials file others can read is reported with the command that fixes it."""
    file = path or paths.credentials_file()
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except FileNotFoundError:
        return None
    if mode & 0o077:
        return f"{file} is readable by others (mode {mode:o}) — run: chmod 600 {file}"
    return None


def resolve(name: str, path: Path | None = None) -> ResolvedSecret:
    spec = SECRETS[name]
    env_value = os.environ.get(spec.env)
    if env_value:
        return ResolvedSecret(env_value, f"environment ({spec.env})")
    try:
        stored = load_credentials_file(path).get(name)
    except CredentialsError:
        stored = None
    if stored:
        return ResolvedSecret(stored, f"credentials file ({path or paths.credentials_file()})")
    if name == "hf_token":
        token_file = _hf_token_file()
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError:
            token = ""
        if token:
            return ResolvedSecret(token, f"huggingface login ({token_file})")
    return ResolvedSecret(None, "not set")


def _write_credentials(file: Path, secrets: dict[str, str]) -> None:
    document = tomlkit.document()
    document.add(tomlkit.comment("magitui secrets: keep this file private (mode 0600)."))
    for key, secret in sorted(secrets.items()):
        document[key] = secret
    write_text_atomic(file, tomlkit.dumps(document), mode=0o600)


def store(name: str, value: str, path: Path | None = None) -> Path:
    """Save one secret to the credentials file with mode 0600 (created that way)."""
    if name not in SECRETS:
        raise CredentialsError(f"unknown secret {name!r} — one of: {', '.join(SECRETS)}")
    file = path or paths.credentials_file()
    current = load_credentials_file(file)
    if value:
        current[name] = value
    else:
        current.pop(name, None)
    _write_credentials(file, current)
    if name == "hf_token" and value:
        # Where huggingface_hub keeps a login, so transformers, datasets and
        # huggingface-cli see the token too.
        write_text_atomic(_hf_token_file(), value, mode=0o600)
    return file


@dataclass(frozen=True)
class Unset:
    """What ``unset`` removed, and what still provides the secret."""

    removed: list[Path]
    still_set_by: str | None  # e.g. "environment (HF_TOKEN)": unset does not change that


def unset(name: str, path: Path | None = None) -> Unset:
    """Remove one secret from the credentials file, and the huggingface_hub token file that
    ``store`` wrote with it (only if it still holds that value: a login made elsewhere stays)."""
    if name not in SECRETS:
        raise CredentialsError(f"unknown secret {name!r} — one of: {', '.join(SECRETS)}")
    file = path or paths.credentials_file()
    current = load_credentials_file(file)
    removed: list[Path] = []
    value = current.pop(name, None)
    if value is not None:
        _write_credentials(file, current)
        removed.append(file)
        if name == "hf_token":
            token_file = _hf_token_file()
            try:
                if token_file.read_text(encoding="utf-8").strip() == value:
                    token_file.unlink()
                    removed.append(token_file)
            except OSError:
                pass
    left = resolve(name, file)
    return Unset(removed, left.source if left.value else None)


def job_environment(path: Path | None = None) -> dict[str, str]:
    """Secrets a job needs, passed through its environment only (never to disk)."""
    env: dict[str, str] = {}
    for name, spec in SECRETS.items():
        if not os.environ.get(spec.env):
            resolved = resolve(name, path)
            if resolved.value:
                env[spec.env] = resolved.value
    return env


def redact_text(text: str) -> str:
    """Scrub known secret values and key-shaped strings from ``text``."""
    for spec in SECRETS.values():
        value = os.environ.get(spec.env)
        if value and len(value) >= 8:
            text = text.replace(value, mask(value))
    return _KEY_PATTERN.sub(lambda m: mask(m.group(0)), text)


def redact_argv(argv: list[str]) -> list[str]:
    """A command line fit to store: values of secret flags and key-shaped words masked."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(mask(arg))
            hide_next = False
            continue
        flag, eq, val = arg.partition("=")
        if flag in _SECRET_FLAGS:
            if eq:
                out.append(f"{flag}={mask(val)}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact_text(arg))
    return out
