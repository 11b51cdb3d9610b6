"""The UI's pure pieces: formatting, log cleaning, theme files."""

from __future__ import annotations

from pathlib import Path

import pytest

from magitui.formatting import format_duration, format_event, shorten_path, truncate
from magitui.log_text import LogAssembler, clean_line
from magitui.themes import BUNDLED_ORDER, bundled_theme_dirs, choose_theme, load_themes


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0, "0s"), (59.9, "59s"), (61, "1m 01s"), (3725, "1h 02m"), (90000, "1d 01h")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_truncate_and_shorten_path() -> None:
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 4) == "abc"
    assert shorten_path("/very/long/path/to/workspace", 12) == "…o/workspace"


def test_format_event_progress_and_fields() -> None:
    assert format_event({"type": "progress", "time": 0, "done": 5, "total": 10}) == (
        "00:00:00 progress 5/10"
    )
    line = format_event({"type": "metric", "time": 0, "loss": 0.123456, "step": 4})
    assert line == "00:00:00 metric   loss=0.1235 step=4"


def test_clean_line_keeps_what_a_terminal_shows() -> None:
    assert clean_line("\x1b[31mred\x1b[0m text") == "red text"
    assert clean_line(" 10%|#  |\r 50%|### |\r100%|####|") == "100%|####|"
    assert clean_line("windows line\r") == "windows line"
    assert clean_line("a\tb\x07") == "a   b"


def test_assembler_handles_split_utf8_and_partial_lines() -> None:
    assembler = LogAssembler()
    data = "héllo\nwörld".encode()
    assert assembler.feed(data[:2]) == []
    assert assembler.feed(data[2:]) == ["héllo"]
    assert assembler.partial == "wörld"
    assert assembler.feed(b"\n") == ["wörld"]
    assert assembler.partial == ""


def test_assembler_drops_the_cut_first_line_when_starting_mid_file() -> None:
    assembler = LogAssembler(skip_first_line=True)
    assert assembler.feed(b"ut line\nwhole line\n") == ["whole line"]


def test_bundled_themes_load_without_warnings() -> None:
    loaded = load_themes(bundled_theme_dirs())
    assert not loaded.warnings
    assert set(BUNDLED_ORDER) <= set(loaded.themes)
    assert not loaded.themes["magitui-light"].dark
    assert loaded.cycle_order[:3] == list(BUNDLED_ORDER)


def test_theme_problems_are_warnings(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('primary = "#123456"\nsparkle = true\n')
    (tmp_path / "b.toml").write_text('name = "b"\n')
    (tmp_path / "c.toml").write_text('name = "c"\nprimary = "#123456"\ndark = "yes"\n')
    loaded = load_themes([tmp_path])
    assert "a" in loaded.themes  # the file name stands in for a missing name
    text = "\n".join(loaded.warnings)
    assert "a.toml: unknown key(s) sparkle ignored" in text
    assert "b.toml: missing primary" in text
    assert "c.toml: dark = 'yes' — must be true or false" in text
    assert "magitui-dark" in loaded.themes  # the default is always there


def test_choose_theme() -> None:
    assert choose_theme("magitui-light", ["magitui-dark", "magitui-light"]) == (
        "magitui-light",
        None,
    )
    name, warning = choose_theme("nope", ["textual-dark", "magitui-dark"], own=["magitui-dark"])
    assert name == "magitui-dark"
    assert warning == (
        "[ui] theme = 'nope' is not a known theme — available: magitui-dark, or one of "
        "Textual's 1 built-in themes (textual-dark…); using magitui-dark"
    )


def test_counts_read_as_english() -> None:
    from magitui.formatting import counted

    assert counted(1, "row") == "1 row"
    assert counted(0, "row") == "0 rows"
    assert counted(100_000, "row") == "100,000 rows"


def test_at_60_columns_job_ids_and_states_stay_whole() -> None:
    """The jobs table gives up the run and the duration before it cuts an id or a state."""
    from magitui.widgets.job_table import JobsTable

    shown = [c.key for c in JobsTable.COLUMNS if c.min_table_width <= 56]
    assert shown == ["id", "state"]
    wide = [c.key for c in JobsTable.COLUMNS if c.min_table_width <= 76]
    assert wide == ["id", "run", "state", "duration"]
