"""Colour themes: magitui's bundled TOML themes plus the user's own.

A theme file is flat TOML with the keys of ``textual.theme.Theme`` (name, dark,
primary, secondary, accent, foreground, background, surface, panel, success,
warning, error) and an optional ``[variables]`` table. A broken file costs a
warning naming the file and the problem; it never stops the app.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from magitui_core import paths
from magitui_core.config import DEFAULT_THEME

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

COLOUR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "success",
    "warning",
    "error",
)
KNOWN_KEYS = frozenset({"name", "dark", "variables", *COLOUR_KEYS})

# The order ctrl+t cycles in; user themes follow these.
BUNDLED_ORDER = (DEFAULT_THEME, "magitui-light", "magitui-high-contrast")


class ThemeFileError(Exception):
    """A theme file that cannot be used; the message says what is wrong."""


@dataclass
class LoadedThemes:
    themes: dict[str, Theme] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def cycle_order(self) -> list[str]:
        bundled = [name for name in BUNDLED_ORDER if name in self.themes]
        return bundled + sorted(name for name in self.themes if name not in bundled)


def bundled_theme_dirs() -> list[Path]:
    """Where the bundled themes are: inside the package (a wheel puts them there),
    then the repository's top-level themes/ (an editable install).

    A wheel's magitui/themes/ folder has no __init__.py, so it never shadows this
    module: the import system prefers themes.py over a bare folder.
    """
    package = Path(__file__).resolve().parent
    return [package / "themes", package.parent / "themes"]


def theme_dirs() -> list[Path]:
    """Every folder themes are read from; later folders override earlier ones by name."""
    return [*bundled_theme_dirs(), paths.user_themes_dir()]


def load_theme_file(path: Path) -> tuple[Theme, list[str]]:
    """One theme and the non-fatal problems found in its file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeFileError(f"cannot read it ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"not valid TOML — {exc}") from None
    return theme_from_data(data, default_name=path.stem)


def theme_from_data(data: dict[str, Any], default_name: str) -> tuple[Theme, list[str]]:
    notes: list[str] = []
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        notes.append(
            f"unknown key(s) {', '.join(unknown)} ignored — known keys: "
            + ", ".join(sorted(KNOWN_KEYS))
        )
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(f"name = {name!r} — must be a non-empty string")
    if "primary" not in data:
        raise ThemeFileError("missing primary — every theme needs at least a primary colour")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(f"dark = {dark!r} — must be true or false")
    colours: dict[str, Any] = {}  # Theme's keyword arguments, colour strings all
    for key in COLOUR_KEYS:
        if key in data:
            colours[key] = _colour(key, data[key])
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeFileError("[variables] must be a table of strings")
    theme = Theme(name=name.strip(), dark=dark, variables=dict(variables), **colours)
    return theme, notes


def _colour(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"{key} = {value!r} — must be a colour string such as '#4EA8DE'")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(
            f"{key} = {value!r} is not a colour — use '#RRGGBB', 'rgb(r,g,b)' or a colour name"
        ) from None
    return value


def _theme_files(folders: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    seen: set[Path] = set()
    for folder in folders:
        try:
            candidates = sorted(folder.glob("*.toml"))
        except OSError:
            continue
        for file in candidates:
            resolved = file.resolve()
            if resolved not in seen:  # the package and repo folders can be the same files
                seen.add(resolved)
                files.append(file)
    return files


def load_themes(folders: Iterable[Path] | None = None) -> LoadedThemes:
    loaded = LoadedThemes()
    for file in _theme_files(theme_dirs() if folders is None else folders):
        try:
            theme, notes = load_theme_file(file)
        except ThemeFileError as exc:
            loaded.warnings.append(f"theme file {file}: {exc}; skipped")
            continue
        loaded.warnings.extend(f"theme file {file}: {note}" for note in notes)
        loaded.themes[theme.name] = theme
        loaded.sources[theme.name] = file
    if DEFAULT_THEME not in loaded.themes:
        # Never leave the app without its default, even if the files went missing.
        loaded.themes[DEFAULT_THEME] = FALLBACK_THEME
    return loaded


def choose_theme(
    requested: str, available: Iterable[str], own: Iterable[str] = ()
) -> tuple[str, str | None]:
    """The theme to start with, and a warning when the configured one does not exist.

    ``own`` are magitui's and the user's theme files: the warning lists them in
    full and only summarises Textual's two dozen built-in themes.
    """
    names = list(available)
    if requested in names:
        return requested, None
    mine = [name for name in own if name in names]
    builtin = sorted(name for name in names if name not in mine)
    listed = ", ".join(mine or builtin)
    if mine and builtin:
        listed += (
            f", or one of Textual's {len(builtin)} built-in themes ({', '.join(builtin[:3])}…)"
        )
    warning = (
        f"[ui] theme = {requested!r} is not a known theme — available: {listed}; "
        f"using {DEFAULT_THEME}"
    )
    return DEFAULT_THEME, warning


# Mirrors themes/magitui-dark.toml for the unlikely case that no theme file is found.
FALLBACK_THEME = Theme(
    name=DEFAULT_THEME,
    dark=True,
    primary="#4EA8DE",
    secondary="#7F8CFF",
    accent="#F2B84B",
    foreground="#E3E6EA",
    background="#12161C",
    surface="#1A2029",
    panel="#232B36",
    success="#5CC98B",
    warning="#F2B84B",
    error="#F0616D",
)
