"""The key reference: global keys, and every key of the screen it was opened from — those in
the footer and those kept out of it (at 80 columns the footer holds only the main few).

Laid out to fit 80x24: the screen's keys in two columns, the section keys on two lines; the
body scrolls (arrows, page keys) should a screen ever bind more.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from magitui.sections import SECTIONS

GLOBAL_KEYS: tuple[tuple[str, str], ...] = (
    ("?", "this help"),
    ("ctrl+p", "command palette (sections, theme, quit…)"),
    ("ctrl+t", "next colour theme (saved to config.toml)"),
    ("tab / shift+tab", "move between panels"),
    ("escape", "close a dialog or detail view, else back to Home"),
    ("q", "quit (jobs keep running)"),
)
SECTION_KEYS: tuple[tuple[str, str], ...] = tuple(
    (section.key, section.title) for section in SECTIONS
)
# Textual's own hidden screen keys (focus, copy): the Everywhere part says them once.
TEXTUAL_SCREEN_ACTIONS = frozenset(
    binding.action for binding in Screen.BINDINGS if isinstance(binding, Binding)
)


def screen_keys(app: App[object], screen: Screen[object]) -> list[tuple[str, str]]:
    """The keys that act on ``screen`` now: the footer's first, then the hidden ones the
    screen binds itself. Keys doing the same thing share a row ("⏎ / i")."""
    shown: dict[str, list[str]] = {}
    hidden: dict[str, list[str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if active.node is app or not binding.description:
            continue
        if binding.show:
            rows = shown
        elif active.node is screen and binding.action not in TEXTUAL_SCREEN_ACTIONS:
            rows = hidden
        else:
            continue  # a widget's cursor and scroll keys: the usual ones
        keys = rows.setdefault(binding.description, [])
        key = app.get_key_display(binding)
        if key not in keys:
            keys.append(key)
    for description, keys in hidden.items():  # after the footer's, in the screen's order
        known = shown.setdefault(description, [])
        known += [key for key in keys if key not in known]
    return [(" / ".join(keys), description) for description, keys in shown.items()]


def key_table(rows: Iterable[tuple[str, str]], key_style: str, pairs: int = 1) -> Table:
    """A grid of key / description, ``pairs`` of them side by side, filled row by row."""
    table = Table.grid(padding=(0, 2))
    for _ in range(pairs):
        table.add_column(no_wrap=True)
        table.add_column()
    cells: list[Text] = []
    for key, description in rows:
        cells += [Text(key, style=key_style), Text(description)]
    width = 2 * pairs
    for start in range(0, len(cells), width):
        row = cells[start : start + width]
        table.add_row(*row, *[Text("")] * (width - len(row)))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(
        self,
        screen_title: str,
        screen_keys_shown: list[tuple[str, str]],
        screen: Screen[object] | None = None,
    ) -> None:
        """``screen``: the screen whose keys to list, hidden ones included; by default the
        screen in view when help is opened. The footer's keys are the fallback."""
        super().__init__(classes="dialog-screen")
        self._screen_title = screen_title
        self._screen_keys = screen_keys_shown
        below = screen if screen is not None else self.app.screen
        if not isinstance(below, ModalScreen):
            self._screen_keys = screen_keys(self.app, below) or screen_keys_shown

    def compose(self) -> ComposeResult:
        accent = self.app.theme_variables.get("accent", "")
        key_style = f"bold {accent}".strip()
        with Vertical(classes="dialog help-dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "Esc close"
            with VerticalScroll(classes="dialog-scroll", id="help-body"):
                if self._screen_keys:
                    yield Static(Text(self._screen_title, style="bold"), classes="help-heading")
                    yield Static(key_table(self._screen_keys, key_style, pairs=2))
                later = " -later" if self._screen_keys else ""
                yield Static(Text("Everywhere", style="bold"), classes=f"help-heading{later}")
                yield Static(key_table(SECTION_KEYS, key_style, pairs=4))
                yield Static(key_table(GLOBAL_KEYS, key_style))

    def on_mount(self) -> None:
        # Focused, so the arrow and page keys scroll it when a screen has many keys.
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
