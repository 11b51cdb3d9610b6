"""The config file: typed sections, tolerant loading, comment-preserving saves.

A bad file never stops magitui: each bad key is reported once (file, key,
value, what is allowed) and replaced by its default, the good keys are kept,
and the file itself is never overwritten while it cannot be parsed.

The sections are plain dataclasses whose fields carry their own checks: seven keys do
not need a validation library, and importing one would cost the TUI a third of its
start-up (every command reads this file first).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magitui_core import paths
from magitui_core.atomic import write_text_atomic

if TYPE_CHECKING:
    import tomlkit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

DEFAULT_THEME = "magitui-dark"

# Keys that look like secrets are refused in config.toml: they belong in the
# environment or the 0600 credentials file.
SECRET_KEY_HINTS = ("api_key", "apikey", "token", "secret", "password")


class InvalidValue(ValueError):
    """A value a key does not take; the message says what it must be."""


Check = Callable[[Any], Any]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue("must be a valid string")
    return value


def _number(low: float, high: float) -> Check:
    def check(value: Any) -> float:
        # Text is read as a number where the key is one (`magitui config set` passes text).
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InvalidValue("must be a valid number")
        try:
            number = float(value)
        except ValueError:
            raise InvalidValue("must be a valid number") from None
        if not number >= low:
            raise InvalidValue(f"must be greater than or equal to {low:g}")
        if not number <= high:
            raise InvalidValue(f"must be less than or equal to {high:g}")
        return number

    return check


def _path(value: Any) -> Path:
    return Path(_text(value))


def _http_url(value: Any) -> str:
    if not _text(value).startswith(("http://", "https://")):
        raise InvalidValue("use an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1")
    return value


def _spec(check: Check, description: str) -> dict[str, Any]:
    """A field's metadata: how its value is checked, and what it is for."""
    return {"check": check, "description": description}


@dataclass(frozen=True)
class UISettings:
    theme: str = field(default=DEFAULT_THEME, metadata=_spec(_text, "colour theme name"))
    refresh_seconds: float = field(
        default=1.0, metadata=_spec(_number(0.2, 60), "job list refresh period")
    )


@dataclass(frozen=True)
class WorkspaceSettings:
    path: Path | None = field(
        default=None, metadata=_spec(_path, "workspace folder (runs and jobs)")
    )


@dataclass(frozen=True)
class JobSettings:
    stop_grace_seconds: float = field(
        default=10.0,
        metadata=_spec(_number(0, 3600), "seconds between SIGTERM and SIGKILL when stopping"),
    )


@dataclass(frozen=True)
class HuggingFaceSettings:
    hf_home: Path | None = field(
        default=None,
        metadata=_spec(_path, "HF_HOME given to jobs when the environment has none"),
    )


@dataclass(frozen=True)
class TeacherSettings:
    base_url: str | None = field(
        default=None, metadata=_spec(_http_url, "OpenAI-compatible endpoint of the teacher")
    )
    model: str | None = field(default=None, metadata=_spec(_text, "teacher model name"))


@dataclass(frozen=True)
class MagituiConfig:
    ui: UISettings = field(default_factory=UISettings)
    workspace: WorkspaceSettings = field(default_factory=WorkspaceSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    huggingface: HuggingFaceSettings = field(default_factory=HuggingFaceSettings)
    teacher: TeacherSettings = field(default_factory=TeacherSettings)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Every setting as JSON values, section by section (paths as text)."""
        return {
            name: {
                key: str(value) if isinstance(value, Path) else value
                for key, value in dataclasses.asdict(getattr(self, name)).items()
            }
            for name in SECTIONS
        }


# Each section's class, and each key's check, as the dataclasses above declare them.
SECTIONS: dict[str, type] = {
    f.name: f.default_factory  # type: ignore[misc]  # each section's own class
    for f in dataclasses.fields(MagituiConfig)
}
_CHECKS: dict[str, dict[str, Check]] = {
    name: {f.name: f.metadata["check"] for f in dataclasses.fields(section)}
    for name, section in SECTIONS.items()
}


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


def _section_keys(section: str) -> list[str]:
    return list(_CHECKS.get(section, {}))


def _unknown_key_message(file: Path, section: str, key: str | None = None) -> str:
    import difflib  # for a bad file only

    if key is None:
        known = list(SECTIONS)
        hint = difflib.get_close_matches(section, known, n=1)
        maybe = f" (did you mean [{hint[0]}]?)" if hint else ""
        return f"{file}: unknown section [{section}]{maybe} — known sections: " + ", ".join(
            f"[{k}]" for k in known
        )
    if any(h in key.lower() for h in SECRET_KEY_HINTS):
        return (
            f"{file}: [{section}] {key} looks like a secret — secrets are never read from the "
            "config file; set it in the environment or run `magitui credentials set`"
        )
    known = _section_keys(section)
    hint = difflib.get_close_matches(key, known, n=1)
    maybe = f" (did you mean {hint[0]}?)" if hint else ""
    return f"{file}: [{section}] unknown key {key}{maybe} — known keys: {', '.join(known)}"


def validate_config_data(data: dict[str, Any], file: Path) -> tuple[MagituiConfig, list[str]]:
    """Validate parsed TOML, dropping each bad key with one readable warning."""
    warnings: list[str] = []
    sections: dict[str, Any] = {}
    for section, table in data.items():
        if section not in SECTIONS:
            warnings.append(_unknown_key_message(file, section))
            continue
        if not isinstance(table, dict):
            warnings.append(f"{file}: [{section}] = {table!r} — must be a table; using defaults")
            continue
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in _section_keys(section):
                warnings.append(_unknown_key_message(file, section, key))
                continue
            try:
                values[key] = _CHECKS[section][key](value)
            except InvalidValue as exc:
                warnings.append(f"{file}: [{section}] {key} = {value!r} — {exc}; using the default")
        sections[section] = SECTIONS[section](**values)
    return MagituiConfig(**sections), warnings


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
    if section not in SECTIONS or not key:
        raise ConfigError(
            f"unknown setting {dotted_key!r} — use SECTION.KEY, one of: "
            + ", ".join(f"{s}.{k}" for s in SECTIONS for k in _section_keys(s))
        )
    if key not in _section_keys(section):
        raise ConfigError(
            f"unknown setting {dotted_key!r} — [{section}] has: {', '.join(_section_keys(section))}"
        )
    try:
        # Text is read as a number only where the key is one, so a text setting keeps its
        # text whatever it looks like.
        typed = _CHECKS[section][key](value)
    except InvalidValue as exc:
        raise ConfigError(f"{dotted_key} = {value!r} — {exc}") from None
    import tomlkit  # for saving only: start-up just reads, with tomllib

    document = _read_document(file)
    table = document.get(section)
    if table is None:
        table = tomlkit.table()
        document[section] = table
    table[key] = str(typed) if isinstance(typed, Path) else typed
    write_text_atomic(file, tomlkit.dumps(document))
    return load_config(file).config


def _read_document(file: Path) -> tomlkit.TOMLDocument:
    import tomlkit

    if not file.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(file.read_text(encoding="utf-8"))
    except Exception as exc:  # tomlkit raises several parse error types
        raise ConfigError(
            f"{file} is not valid TOML ({exc}); fix it before magitui can save settings"
        ) from None
