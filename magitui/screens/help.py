"""The key reference: global keys, and every key of the screen it was opened from — those in
the footer and those kept out of it (at 80 columns the footer holds only the main few) — and
the keys of the screen's own widgets (its tables, logs, input boxes) under the widget's name:
those act only while that widget has focus, so without them a user would never learn of the
jobs table's Enter while the log has focus, or of the log search's n / N at all.

Laid out to fit 80x24: the screen's keys in two columns, the section keys on two lines; the
body scrolls (arrows, page keys) should a screen ever bind more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

from magitui.sections import SECTIONS

GLOBAL_KEYS: tuple[tuple[str, str], ...] = (
    ("?", "this help"),
    ("ctrl+p", "palette: sections, quit"),
    ("ctrl+t", "next theme (saved)"),
    ("tab/⇧tab", "next / previous panel"),
    ("escape", "close dialog, else Home"),
    ("q", "quit (jobs keep running)"),
)
SECTION_KEYS: tuple[tuple[str, str], ...] = tuple(
    (section.key, section.title) for section in SECTIONS
)
# Textual's own hidden screen keys (focus, copy): the Everywhere part says them once.
TEXTUAL_SCREEN_ACTIONS = frozenset(
    binding.action for binding in Screen.BINDINGS if isinstance(binding, Binding)
)

# Keys that move a cursor or scroll: every table and log has them; the help does not repeat
# them under each widget.
NAVIGATION_KEYS = frozenset(
    {"up", "down", "left", "right", "pageup", "pagedown", "home", "end", "tab", "shift+tab"}
)

KeyRows = list[tuple[str, str]]
UNAVAILABLE = " (not now)"  # a key of the screen that has nothing to act on at the moment


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
            keyed = shown
        elif active.node is screen and binding.action not in TEXTUAL_SCREEN_ACTIONS:
            keyed = hidden
        else:
            continue  # a widget's cursor and scroll keys: the usual ones
        keys = keyed.setdefault(binding.description, [])
        key = app.get_key_display(binding)
        if key not in keys:
            keys.append(key)
    for description, keys in hidden.items():  # after the footer's, in the screen's order
        known = shown.setdefault(description, [])
        known += [key for key in keys if key not in known]
    rows: KeyRows = [(" / ".join(keys), description) for description, keys in shown.items()]
    # Keys the screen has but that do nothing in its present state (no messages yet, no job
    # selected) are listed too, marked, so the help always tells every key there is.
    unavailable: dict[str, list[str]] = {}
    for cls in type(screen).__mro__:
        if "BINDINGS" not in cls.__dict__ or not cls.__module__.startswith("magitui."):
            continue
        bindings = [b for b in cls.__dict__["BINDINGS"] if isinstance(b, Binding)]
        for binding in Binding.make_bindings(bindings):
            if not binding.description or binding.description in shown:
                continue
            keys = unavailable.setdefault(binding.description, [])
            key = app.get_key_display(binding)
            if key not in keys:
                keys.append(key)
    rows += [(" / ".join(k), f"{d}{UNAVAILABLE}") for d, k in unavailable.items()]
    return rows


def widget_keys(
    app: App[object], screen: Screen[object], listed: KeyRows
) -> list[tuple[str, KeyRows]]:
    """(widget name, its keys) for each kind of widget on ``screen`` that binds keys of its
    own (magitui's widgets, not Textual's cursor and scroll keys), less the rows already in
    ``listed`` (the focused widget's footer keys are there)."""
    known = {(key, description) for keys, description in listed for key in keys.split(" / ")}
    groups: list[tuple[str, KeyRows]] = []
    seen: set[type[Widget]] = set()
    for widget in screen.walk_children(Widget):
        kind = type(widget)
        if kind in seen:
            continue
        seen.add(kind)
        rows: dict[str, list[str]] = {}
        for cls in kind.__mro__:
            if "BINDINGS" not in cls.__dict__ or not cls.__module__.startswith("magitui."):
                continue
            bindings = [b for b in cls.__dict__["BINDINGS"] if isinstance(b, Binding)]
            for binding in Binding.make_bindings(bindings):
                key = app.get_key_display(binding)
                if (
                    not binding.description
                    or binding.key in NAVIGATION_KEYS
                    or (key, binding.description) in known
                ):
                    continue
                keys = rows.setdefault(binding.description, [])
                if key not in keys:
                    keys.append(key)
        if rows:
            name = getattr(kind, "HELP_TITLE", None) or _words(kind.__name__)
            groups.append((name, [(" / ".join(keys), text) for text, keys in rows.items()]))
    return groups


def _words(class_name: str) -> str:
    """A class name in words: JobsTable -> "Jobs table"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", class_name).capitalize()


def key_table(rows: Iterable[tuple[str, str]], key_style: str, pairs: int = 1) -> Table:
    """A grid of key / description, ``pairs`` of them side by side, filled row by row."""
    table = Table.grid(padding=(0, 2))
    for _ in range(pairs):
        table.add_column(no_wrap=True)
        table.add_column()
    cells: list[Text] = []
    for key, description in rows:
        if description.endswith(UNAVAILABLE):
            cells += [Text(key, style="dim"), Text(description, style="dim")]
        else:
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
        self._widget_keys: list[tuple[str, KeyRows]] = []
        below = screen if screen is not None else self.app.screen
        if not isinstance(below, ModalScreen):
            self._screen_keys = screen_keys(self.app, below) or screen_keys_shown
            self._widget_keys = widget_keys(self.app, below, self._screen_keys)

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
                for name, rows in self._widget_keys:
                    yield Static(Text(f"{name}:", style="bold"), classes="help-widget-heading")
                    yield Static(key_table(rows, key_style, pairs=2))
                later = " -later" if self._screen_keys else ""
                yield Static(Text("Everywhere", style="bold"), classes=f"help-heading{later}")
                yield Static(key_table(SECTION_KEYS, key_style, pairs=4))
                yield Static(key_table(GLOBAL_KEYS, key_style, pairs=2))

    def on_mount(self) -> None:
        # Focused, so the arrow and page keys scroll it when a screen has many keys.
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
