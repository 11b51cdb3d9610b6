"""Bad settings never stop the app; theme choices are remembered in config.toml."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pilot_helpers import drive, notifications, screen_text, settle, wait_until
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.screens.home.screen import HomeScreen
from magitui.screens.startup_error import StartupErrorScreen
from magitui.widgets.text_modal import TextModal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _saved_theme(config_file: Path) -> object:
    return tomllib.loads(config_file.read_text(encoding="utf-8")).get("ui", {}).get("theme")


def test_bad_config_opens_with_a_visible_warning(write_config) -> None:  # type: ignore[no-untyped-def]
    write_config("[ui]\nrefresh_seconds = -5\n")
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, HomeScreen)
        banner = app.screen.query_one("#warnings")
        assert banner.display
        assert "refresh_seconds" in screen_text(app)
        assert any(sev == "warning" for sev, _, _ in notifications(app))
        assert app.context.config.ui.refresh_seconds == 1.0  # the default, in force
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, TextModal)
        assert "greater than or equal to 0.2" in screen_text(app)
        await pilot.press("escape")

    drive(app, scenario)


def test_good_config_shows_no_banner() -> None:
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        assert not app.screen.query_one("#warnings").display
        assert not notifications(app)

    drive(app, scenario)


def test_unparsable_config_still_opens(write_config) -> None:  # type: ignore[no-untyped-def]
    write_config("[ui\ntheme = \n")
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, HomeScreen)
        assert "not valid TOML" in screen_text(app)

    drive(app, scenario)


def test_ctrl_t_cycles_and_saves_the_theme(config_file: Path) -> None:
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        assert app.theme == "magitui-dark"
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.theme == "magitui-light"
        assert _saved_theme(config_file) == "magitui-light"
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert _saved_theme(config_file) == "magitui-high-contrast"
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.theme == "magitui-dark"

    drive(app, scenario)
    assert _saved_theme(config_file) == "magitui-dark"


def test_theme_changed_any_way_is_saved_keeping_comments(write_config) -> None:  # type: ignore[no-untyped-def]
    config_file = write_config("# my settings\n[ui]\nrefresh_seconds = 2.0 # slow ssh\n")
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        app.theme = "magitui-high-contrast"  # what the palette's theme picker does
        await settle(pilot)

    drive(app, scenario)
    text = config_file.read_text(encoding="utf-8")
    assert _saved_theme(config_file) == "magitui-high-contrast"
    assert "# my settings" in text and "# slow ssh" in text


def test_theme_picked_in_the_command_palette_is_saved(config_file: Path) -> None:
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"theme")
        await wait_until(pilot, lambda: "Change the current theme" in screen_text(app), "Theme")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Search for themes" in screen_text(app), "the picker")
        await pilot.press(*"magitui-high")
        await wait_until(pilot, lambda: "magitui-high-contrast" in screen_text(app), "the hit")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.theme == "magitui-high-contrast", "the new theme")
        await settle(pilot)

    drive(app, scenario)
    assert _saved_theme(config_file) == "magitui-high-contrast"


def test_start_up_does_not_write_the_config(config_file: Path) -> None:
    drive(MagituiApp(), lambda pilot: settle(pilot))
    assert not config_file.exists()


def test_configured_light_theme_is_used(write_config) -> None:  # type: ignore[no-untyped-def]
    write_config('[ui]\ntheme = "magitui-light"\n')
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        assert app.theme == "magitui-light"
        assert not app.current_theme.dark
        assert not notifications(app)

    drive(app, scenario)


def test_unknown_theme_falls_back_with_a_warning(write_config) -> None:  # type: ignore[no-untyped-def]
    config_file = write_config('[ui]\ntheme = "solarized-nope"\n')
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        assert app.theme == "magitui-dark"
        warning = next(w for w in app.startup_warnings if "solarized-nope" in w)
        assert "magitui-light" in warning and "magitui-high-contrast" in warning
        assert "solarized-nope" in screen_text(app)

    drive(app, scenario)
    assert _saved_theme(config_file) == "solarized-nope"  # the user's value is left alone


def test_theme_that_cannot_be_saved_is_kept_for_the_session(write_config) -> None:  # type: ignore[no-untyped-def]
    config_file = write_config("[ui\n")
    before = config_file.read_text()
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.theme == "magitui-light"
        errors = [n for n in notifications(app) if n[0] == "error"]
        assert errors and errors[0][1] == "Theme not saved"
        assert "not valid TOML" in errors[0][2]

    drive(app, scenario)
    assert config_file.read_text() == before


def test_user_themes_load_and_bad_files_only_warn(config_file: Path) -> None:
    themes = config_file.parent / "themes"
    themes.mkdir(parents=True)
    (themes / "ocean.toml").write_text('name = "ocean"\nprimary = "#0077BE"\ndark = true\n')
    (themes / "broken.toml").write_text("name = 'broken\n")
    (themes / "ugly.toml").write_text('name = "ugly"\nprimary = "not-a-colour"\n')
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        assert "ocean" in app.available_themes
        assert "ugly" not in app.available_themes
        warnings = "\n".join(app.startup_warnings)
        assert "broken.toml: not valid TOML" in warnings
        assert "ugly.toml: primary = 'not-a-colour' is not a colour" in warnings
        assert isinstance(app.screen, HomeScreen)
        app.theme = "ocean"
        await settle(pilot)

    drive(app, scenario)
    assert _saved_theme(config_file) == "ocean"


def test_workspace_that_cannot_be_created_is_explained(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MAGITUI_HOME", str(blocker / "workspace"))
    app = MagituiApp()

    async def scenario(pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, StartupErrorScreen)
        text = screen_text(app)
        assert "cannot create workspace" in text and "MAGITUI_HOME" in text
        await pilot.press("g")  # no sections without a workspace
        await pilot.pause()
        assert isinstance(app.screen, StartupErrorScreen)
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, "the app to exit")

    drive(app, scenario)
    assert app.return_code == 1
    assert os.path.isfile(blocker)
