"""The config file: pydantic models, tolerant loading, comment-preserving saves.

A bad file never stops magitui: each bad key is reported once (file, key,
value, what is allowed) and replaced by its default, the good keys are kept,
and the file itself is never overwritten while it cannot be parsed.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from magitui_core import paths
from magitui_core.atomic import write_text_atomic

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

DEFAULT_THEME = "magitui-dark"

# Keys that look like secrets are refused in config.toml: they belong in the
# environment or the 0600 credentials file.
SECRET_KEY_HINTS = ("api_key", "apikey", "token", "secret", "password")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class UISettings(_Section):
    theme: str = Field(DEFAULT_THEME, description="colour theme name")
    refresh_seconds: float = Field(1.0, ge=0.2, le=60, description="job list refresh period")


class WorkspaceSettings(_Section):
    path: Path | None = Field(None, description="workspace folder (runs and jobs)")


class JobSettings(_Section):
    stop_grace_seconds: float = Field(
        10.0, ge=0, le=3600, description="seconds between SIGTERM and SIGKILL when stopping"
    )


class HuggingFaceSettings(_Section):
    hf_home: Path | None = Field(
        None, description="HF_HOME given to jobs when the environment has none"
    )


class TeacherSettings(_Section):
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint of the teacher")
    model: str | None = Field(None, description="teacher model name")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("use an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1")
        return value


class MagituiConfig(_Section):
    ui: UISettings = Field(default_factory=UISettings)
    workspace: WorkspaceSettings = Field(default_factory=WorkspaceSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    huggingface: HuggingFaceSettings = Field(default_factory=HuggingFaceSettings)
    teacher: TeacherSettings = Field(default_factory=TeacherSettings)


@dataclass
class LoadedConfig:
    """The config in force, where it came from, and what was wrong with the file."""

    config: MagituiConfig
    path: Path
    exists: bool
    warnings: list[str] = field(default_factory=list)
    # False when the file is not valid TOML: saving must not clobber it then.
    parsable: bool = True


class ConfigError(Exception):
    """A config change that cannot be made; the message says why and how to fix it."""


def _known_keys(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _section_model(section: str) -> type[BaseModel] | None:
    info = MagituiConfig.model_fields.get(section)
    if info is None or info.annotation is None:
        return None
    annotation = info.annotation
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _describe_allowed(loc: tuple[Any, ...], message: str) -> str:
    if message.startswith("Input should be "):
        return "must be " + message[len("Input should be ") :]
    if message.startswith("Value error, "):
        return message[len("Value error, ") :]
    return message[0].lower() + message[1:] if message else "is not valid"


def _unknown_key_message(file: Path, loc: tuple[Any, ...]) -> str:
    if len(loc) == 1:
        known = _known_keys(MagituiConfig)
        hint = difflib.get_close_matches(str(loc[0]), known, n=1)
        maybe = f" (did you mean [{hint[0]}]?)" if hint else ""
        return f"{file}: unknown section [{loc[0]}]{maybe} — known sections: " + ", ".join(
            f"[{k}]" for k in known
        )
    section, key = str(loc[0]), str(loc[-1])
    if any(h in key.lower() for h in SECRET_KEY_HINTS):
        return (
            f"{file}: [{section}] {key} looks like a secret — secrets are never read from the "
            "config file; set it in the environment or run `magitui credentials set`"
        )
    model = _section_model(section)
    known = _known_keys(model) if model else []
    hint = difflib.get_close_matches(key, known, n=1)
    maybe = f" (did you mean {hint[0]}?)" if hint else ""
    return f"{file}: [{section}] unknown key {key}{maybe} — known keys: {', '.join(known)}"


def _drop(data: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    """Remove the value at ``loc`` so the rest of the file can still be used."""
    node: Any = data
    for part in loc[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    if isinstance(node, dict) and loc and loc[-1] in node:
        del node[loc[-1]]
        return True
    if loc and isinstance(data, dict) and loc[0] in data and len(loc) > 1:
        del data[loc[0]]  # a whole section of the wrong type
        return True
    return False


def validate_config_data(data: dict[str, Any], file: Path) -> tuple[MagituiConfig, list[str]]:
    """Validate parsed TOML, dropping each bad key with one readable warning."""
    warnings: list[str] = []
    for _ in range(100):  # each round removes at least one bad key
        try:
            return MagituiConfig.model_validate(data), warnings
        except ValidationError as exc:
            removed = False
            for err in exc.errors():
                loc = tuple(err["loc"])
                if err["type"] == "extra_forbidden":
                    warnings.append(_unknown_key_message(file, loc))
                else:
                    where = (
                        f"[{loc[0]}] {'.'.join(map(str, loc[1:]))}"
                        if len(loc) > 1
                        else f"[{loc[0]}]"
                    )
                    warnings.append(
                        f"{file}: {where} = {err.get('input')!r} — "
                        f"{_describe_allowed(loc, err['msg'])}; using the default"
                    )
                removed = _drop(data, loc) or removed
            if not removed:
                break
    warnings.append(f"{file}: could not be used; using defaults")
    return MagituiConfig(), warnings


def load_config(path: Path | None = None) -> LoadedConfig:
    """Load the config file; never raises for a bad file, only reports."""
    file = path or paths.config_file()
    if not file.exists():
        return LoadedConfig(MagituiConfig(), file, exists=False)
    try:
        raw = file.read_text(encoding="utf-8")
    except OSError as exc:
        return LoadedConfig(
            MagituiConfig(), file, True, [f"{file}: cannot read ({exc.strerror}); using defaults"]
        )
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        message = f"{file}: not valid TOML — {exc}; fix the syntax. Using defaults meanwhile"
        return LoadedConfig(MagituiConfig(), file, True, [message], parsable=False)
    config, warnings = validate_config_data(data, file)
    return LoadedConfig(config, file, True, warnings)


def set_config_value(dotted_key: str, value: str, path: Path | None = None) -> MagituiConfig:
    """Set ``section.key`` in the file, keeping the user's comments and layout.

    The value is validated first; an invalid value or an unparsable file raises
    ConfigError and leaves the file untouched.
    """
    file = path or paths.config_file()
    section, _, key = dotted_key.partition(".")
    model = _section_model(section)
    if model is None or not key:
        raise ConfigError(
            f"unknown setting {dotted_key!r} — use SECTION.KEY, one of: "
            + ", ".join(f"{s}.{k}" for s in _known_keys(MagituiConfig) for k in _section_keys(s))
        )
    if key not in model.model_fields:
        raise ConfigError(
            f"unknown setting {dotted_key!r} — [{section}] has: {', '.join(_known_keys(model))}"
        )
    document = _read_document(file)
    candidate = document.unwrap()
    candidate.setdefault(section, {})[key] = value
    try:
        # Lax validation reads "25" as a number only where the field is a number,
        # so a string setting keeps its text whatever it looks like.
        validated = MagituiConfig.model_validate({section: candidate[section]})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(
            f"{dotted_key} = {value!r} — {_describe_allowed(tuple(err['loc']), err['msg'])}"
        ) from None
    typed = getattr(getattr(validated, section), key)
    table = document.get(section)
    if table is None:
        table = tomlkit.table()
        document[section] = table
    table[key] = str(typed) if isinstance(typed, Path) else typed
    write_text_atomic(file, tomlkit.dumps(document))
    return load_config(file).config


def _section_keys(section: str) -> list[str]:
    model = _section_model(section)
    return _known_keys(model) if model else []


def _read_document(file: Path) -> tomlkit.TOMLDocument:
    if not file.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(file.read_text(encoding="utf-8"))
    except Exception as exc:  # tomlkit raises several parse error types
        raise ConfigError(
            f"{file} is not valid TOML ({exc}); fix it before magitui can save settings"
        ) from None
