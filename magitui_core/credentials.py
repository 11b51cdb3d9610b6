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
# A flag whose value is a secret: --api-key, --token, --hf_token, --password, --client-secret...
_SECRET_FLAG = re.compile(
    r"^--?[\w-]*(api[-_]?key|token|password|passwd|secret|credentials?)$", re.IGNORECASE
)
# user:password@ in a URL: the password goes, the user and host stay readable.
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+):([^/\s@]+)@", re.IGNORECASE)


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
    """Enough to recognise a key, never enough to use it: at most a quarter of it shows."""
    if len(value) >= 28:
        return f"{value[:3]}…{value[-4:]}"
    if len(value) >= 12:
        return f"…{value[-2:]}"
    return "•" * len(value)


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
    import tomlkit  # only writing needs it; every start-up reads this module

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


def secret_values() -> list[str]:
    """Every secret value magitui knows of (environment, credentials file, HF login), longest
    first so a secret that contains another is replaced whole."""
    values = {os.environ.get(spec.env) or "" for spec in SECRETS.values()}
    values |= {resolve(name).value or "" for name in SECRETS}
    # Shorter strings would match ordinary text: no real key or token is that short.
    return sorted((v for v in values if len(v) >= 8), key=len, reverse=True)


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    """Scrub known secret values, key-shaped strings and URL passwords from ``text``."""
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, mask(value))
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{mask(m.group(2))}@", text)
    return _KEY_PATTERN.sub(lambda m: mask(m.group(0)), text)


def redact_argv(argv: list[str]) -> list[str]:
    """A command line fit to store: values of secret flags and key-shaped words masked."""
    out: list[str] = []
    hide_next = False
    secrets = secret_values()
    for arg in argv:
        if hide_next:
            out.append(mask(arg))
            hide_next = False
            continue
        flag, eq, val = arg.partition("=")
        if _SECRET_FLAG.match(flag):
            if eq:
                out.append(f"{flag}={mask(val)}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact_text(arg, secrets))
    return out


class StreamRedactor:
    """Scrubs secrets from a byte stream as it passes (a job's output on its way to disk).

    Text is let through as soon as no secret can straddle the cut: the last bytes are held
    back only while they could still be the start of a secret or of a key-shaped word, so a
    secret split across two reads is still caught, and a progress bar still shows live.
    """

    def __init__(self, secrets: list[str] | None = None) -> None:
        values = secret_values() if secrets is None else secrets
        self.secrets = [v.encode() for v in values]
        self.texts = values
        self.buffer = b""

    def _redact(self, data: bytes) -> bytes:
        text = data.decode("utf-8", errors="surrogateescape")
        return redact_text(text, self.texts).encode("utf-8", errors="surrogateescape")

    def _unsafe_from(self, data: bytes) -> int:
        """Where the tail that might still grow into a secret begins (len(data) if none)."""
        cut = len(data)
        for secret in self.secrets:
            for size in range(min(len(secret) - 1, len(data)), 0, -1):
                if data.endswith(secret[:size]):
                    cut = min(cut, len(data) - size)
                    break
        # A key-shaped word or URL still being written may go on after this read.
        tail = re.search(rb"(sk-|hf_|[a-z][a-z0-9+.-]*://)[\w\-:./@]*$", data[-512:], re.I)
        if tail:
            cut = min(cut, len(data) - (len(data[-512:]) - tail.start()))
        return cut

    def feed(self, data: bytes) -> bytes:
        """Redacted bytes that are safe to write now."""
        self.buffer += data
        cut = self._unsafe_from(self.buffer)
        # Never cut through a secret that is already whole: move the cut to its start.
        moved = True
        while moved:
            moved = False
            for secret in self.secrets:
                start = self.buffer.find(secret, max(0, cut - len(secret) + 1))
                if start != -1 and start < cut:
                    cut, moved = start, True
        out, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return self._redact(out)

    def flush(self) -> bytes:
        """Everything held back (end of stream)."""
        out, self.buffer = self.buffer, b""
        return self._redact(out)
