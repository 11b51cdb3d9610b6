"""Config loading: defaults, bad files reported key by key, saves that keep comments."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from magitui_core import paths
from magitui_core.config import ConfigError, load_config, set_config_value
from tests.fake_secrets import fake_openai_key


def write_config(text: str) -> Path:
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_missing_file_gives_defaults(isolated: Path) -> None:
    loaded = load_config()
    assert not loaded.exists and loaded.warnings == []
    assert loaded.config.ui.theme == "magitui-dark"
    assert loaded.config.jobs.stop_grace_seconds == 10.0


def test_config_path_follows_env(isolated: Path) -> None:
    assert paths.config_file() == isolated / "config" / "config.toml"
    assert paths.credentials_file() == isolated / "config" / "credentials.toml"


def test_good_values_are_read(isolated: Path) -> None:
    write_config('[ui]\ntheme = "magitui-light"\n[jobs]\nstop_grace_seconds = 30\n')
    loaded = load_config()
    assert loaded.warnings == []
    assert loaded.config.ui.theme == "magitui-light"
    assert loaded.config.jobs.stop_grace_seconds == 30


def test_each_bad_key_is_named_and_the_rest_is_kept(isolated: Path) -> None:
    path = write_config(
        '[ui]\ntheme = "magitui-light"\nrefresh_seconds = 0.01\ncolour = "red"\n'
        '[jobs]\nstop_grace_seconds = "soon"\n[extras]\nx = 1\n'
    )
    loaded = load_config()
    assert loaded.config.ui.theme == "magitui-light"  # the good key survives
    assert loaded.config.ui.refresh_seconds == 1.0
    assert loaded.config.jobs.stop_grace_seconds == 10.0
    text = "\n".join(loaded.warnings)
    assert f"{path}: [ui] refresh_seconds = 0.01 — must be greater than or equal to 0.2" in text
    assert "[ui] unknown key colour — known keys: theme, refresh_seconds" in text
    assert "[jobs] stop_grace_seconds = 'soon' — must be a valid number" in text
    assert "unknown section [extras]" in text
    assert len(loaded.warnings) == 4


def test_unknown_key_suggests_the_close_one(isolated: Path) -> None:
    write_config("[jobs]\nstop_grace_second = 5\n")
    (warning,) = load_config().warnings
    assert "did you mean stop_grace_seconds?" in warning


def test_secret_in_config_is_refused_with_the_fix(isolated: Path) -> None:
    write_config(f'[teacher]\napi_key = "{fake_openai_key("a" * 24)}"\n')
    (warning,) = load_config().warnings
    assert "looks like a secret" in warning and "magitui credentials set" in warning
    assert "sk-aaaa" not in warning


def test_syntax_error_gives_defaults_and_one_message(isolated: Path) -> None:
    path = write_config("[ui\ntheme = 1\n")
    loaded = load_config()
    assert not loaded.parsable
    (warning,) = loaded.warnings
    assert warning.startswith(f"{path}: not valid TOML") and "line 1" in warning
    assert loaded.config.ui.theme == "magitui-dark"


def test_set_keeps_comments_and_validates(isolated: Path) -> None:
    path = write_config('# my notes\n[ui]\ntheme = "magitui-light"  # bright room\n')
    set_config_value("jobs.stop_grace_seconds", "25")
    text = path.read_text()
    assert "# my notes" in text and "# bright room" in text
    assert load_config().config.jobs.stop_grace_seconds == 25
    with pytest.raises(ConfigError, match=r"jobs.stop_grace_seconds = '-1' — must be greater"):
        set_config_value("jobs.stop_grace_seconds", "-1")
    with pytest.raises(ConfigError, match=r"\[ui\] has: theme, refresh_seconds"):
        set_config_value("ui.colour", "red")
    assert load_config().config.jobs.stop_grace_seconds == 25


def test_set_never_overwrites_an_unparsable_file(isolated: Path) -> None:
    path = write_config("[ui\nbroken")
    with pytest.raises(ConfigError, match="not valid TOML"):
        set_config_value("ui.theme", "magitui-light")
    assert path.read_text() == "[ui\nbroken"


def test_new_config_file_is_created_readable(isolated: Path) -> None:
    set_config_value("ui.theme", "magitui-high-contrast")
    mode = stat.S_IMODE(paths.config_file().stat().st_mode)
    assert mode == 0o644
    assert load_config().config.ui.theme == "magitui-high-contrast"


def test_workspace_resolution_order(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured = Path("/srv/configured")
    assert paths.resolve_workspace("/explicit", configured) == Path("/explicit")
    assert paths.resolve_workspace(None, configured) == isolated / "workspace"  # $MAGITUI_HOME
    monkeypatch.delenv("MAGITUI_HOME")
    assert paths.resolve_workspace(None, configured) == configured
    assert paths.resolve_workspace(None, None) == paths.default_workspace()


def test_set_writes_typed_values_and_keeps_text_for_text_settings(isolated: Path) -> None:
    set_config_value("ui.theme", "1")  # a theme name that looks like a number stays text
    set_config_value("ui.refresh_seconds", "2")
    text = paths.config_file().read_text()
    assert 'theme = "1"' in text and "refresh_seconds = 2.0" in text
    assert load_config().config.ui.theme == "1"


def test_teacher_url_must_be_http(isolated: Path) -> None:
    with pytest.raises(ConfigError, match=r"teacher.base_url = 'htp://bad' — use an http://"):
        set_config_value("teacher.base_url", "htp://bad")
    set_config_value("teacher.base_url", "https://api.openai.com/v1")
    assert load_config().config.teacher.base_url == "https://api.openai.com/v1"
