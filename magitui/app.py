"""The magitui Textual application: sections as modes, themes, start-up warnings."""

from __future__ import annotations

import gc
import sys
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.theme import Theme
from textual.worker import Worker

from magitui.commands import SectionCommands
from magitui.sections import HOME, SECTIONS, Section
from magitui.themes import LoadedThemes, choose_theme, load_themes
from magitui_core.config import ConfigError, set_config_value
from magitui_core.context import Context, open_context
from magitui_core.workspace import WorkspaceError

NAVIGATION = Binding.Group("Go", compact=True)
DEMO = "demo"  # the mode of `magitui demo`'s tour (not a section: only that command opens it)
# Single-key actions that are off while a dialog is open: a section switch would
# strand the dialog on the old section's stack, and a stray q should not quit.
# (ctrl+q, Textual's own quit, always works.)
NAVIGATION_ACTIONS = frozenset({"switch_section", "help", "quit_key", "back_home", "cycle_theme"})
LETTER_ACTIONS = frozenset({"switch_section", "quit_key"})


FORM_CONTROLS = frozenset({"Button", "Checkbox", "RadioButton", "RadioSet", "Select", "Switch"})


def _is_form_control(widget: object) -> bool:
    # By class name along the widget's ancestry, not isinstance: importing these widgets
    # (asked while the first frame's footer is built) would add to start-up for nothing.
    return any(
        cls.__name__ in FORM_CONTROLS and cls.__module__.startswith("textual.widgets")
        for cls in type(widget).__mro__
    )


START_UP_SETTLED = 0.5  # seconds after mounting


def _keep_start_up_objects() -> None:
    if not gc.isenabled():
        # Bare `magitui` collected nothing before its first frame: what start-up left in
        # reference cycles (about 9 000 objects) goes now, or frozen it would stay for good.
        gc.collect()
    gc.freeze()
    gc.enable()


def _section_binding(section: Section) -> Binding:
    return Binding(
        section.key,
        f"switch_section('{section.mode}')",
        section.title,
        group=NAVIGATION,
        tooltip=f"{section.title}: {section.summary}",
    )


class MagituiApp(App[None]):
    TITLE = "magitui"
    CSS_PATH = "app.tcss"
    MODES: ClassVar[dict[str, Any]] = {section.mode: section.build for section in SECTIONS}
    DEFAULT_MODE = HOME
    COMMANDS = App.COMMANDS | {SectionCommands}
    NOTIFICATION_TIMEOUT = 4  # long enough to read a line; it must not linger over work
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_key", "Quit"),
        *(_section_binding(section) for section in SECTIONS),
        Binding("escape", "back_home", "Home", show=False),
        Binding("ctrl+t", "cycle_theme", "Theme", show=False),
    ]

    def __init__(
        self,
        context: Context | None = None,
        workspace: str | None = None,
        demo_job: str | None = None,
    ) -> None:
        """``demo_job``: open on the Demo screen following that job (`magitui demo`)."""
        self.startup_error: str | None = None
        self._ctx = context
        if context is None:
            try:
                self._ctx = open_context(workspace)
            except WorkspaceError as exc:
                self.startup_error = str(exc)
        if self.startup_error is not None:
            # No workspace, no sections: the only screen is the explanation. Set on
            # the instance (App.__init__ copies it), never on the class.
            self.MODES = {HOME: self._startup_error_screen}  # type: ignore[misc]
        elif demo_job is not None:
            # The tour is one more mode, opened first; u comes back to it from any section.
            self.MODES = {**self.MODES, DEMO: lambda: self._demo_screen(demo_job)}  # type: ignore[misc]
            self.DEFAULT_MODE = DEMO  # type: ignore[misc]
        super().__init__()
        if demo_job is not None and self.startup_error is None:
            self.bind("u", f"switch_section('{DEMO}')", description="Tour", show=False)
        self.loaded_themes: LoadedThemes = load_themes()
        for theme in self.loaded_themes.themes.values():
            self.register_theme(theme)
        self.startup_warnings: list[str] = [
            *(self._ctx.warnings if self._ctx else []),
            *self.loaded_themes.warnings,
        ]
        requested = self._ctx.config.ui.theme if self._ctx else "magitui-dark"
        theme_name, problem = choose_theme(
            requested, self.available_themes, own=self.loaded_themes.cycle_order
        )
        if problem:
            self.startup_warnings.append(problem)
        self.theme = theme_name
        # The theme the config file holds (or would, once written): changes are
        # saved only when they differ, so start-up never rewrites the file.
        self._saved_theme = theme_name

    def _demo_screen(self, job_id: str) -> Screen[None]:
        from magitui.screens.demo import DemoScreen

        return DemoScreen(job_id)

    def _startup_error_screen(self) -> Screen[None]:
        from magitui.screens.startup_error import StartupErrorScreen

        return StartupErrorScreen(self.startup_error or "")

    # ---- context ---------------------------------------------------------------------------
    @property
    def has_context(self) -> bool:
        return self._ctx is not None

    @property
    def context(self) -> Context:
        if self._ctx is None:  # screens that need it are never built without it
            raise RuntimeError("magitui has no workspace open")
        return self._ctx

    # ---- lifecycle -------------------------------------------------------------------------
    def on_mount(self) -> None:
        # Start-up objects live as long as the app: keep them out of every later full
        # garbage collection, which otherwise stalls a frame for tens of milliseconds.
        # Half a second on, so that the first frame and the first poll are on screen
        # before the one collection bare `magitui` makes (see magitui.entry).
        self.set_timer(START_UP_SETTLED, _keep_start_up_objects)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.startup_error is None and self.startup_warnings:
            count = len(self.startup_warnings)
            self.notify(
                f"{count} problem{'s' if count > 1 else ''} with the settings — magitui uses "
                "defaults where needed. Details on Home (press w).",
                title="Warnings",
                severity="warning",
                timeout=10,
            )

    # ---- navigation ------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in NAVIGATION_ACTIONS:
            if isinstance(self.screen, ModalScreen):
                return False
            if action != "quit_key" and not self.has_context:
                return False
            if action in LETTER_ACTIONS and _is_form_control(self.focused):
                # Focus on a form's checkbox, choice or button: a letter typed there was meant
                # for a field, and must not leave the form (Escape and ctrl+p still do).
                return False
        return True

    async def action_quit_key(self) -> None:
        await self.action_quit()

    def action_switch_section(self, mode: str) -> None:
        if mode != self.current_mode:
            # Each section comes back as it was left, detail screen included.
            self.switch_mode(mode)
            return
        # The key of the section already in view goes to its main screen.
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def open_section(self, mode: str) -> Screen[Any]:
        """Show section ``mode`` at its main screen and return that screen, for a caller
        that points it at something (Home's Enter on a run opens Data on that run)."""
        self.switch_mode(mode)
        while len(self.screen_stack) > 1:  # a detail screen left open there would hide it
            self.pop_screen()
        return self.screen_stack[0]

    def action_back_home(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        else:
            self.switch_mode(HOME)

    def action_help(self) -> None:
        from magitui.screens.help import HelpScreen

        screen = self.screen
        section_keys = [
            (self.get_key_display(binding), binding.description)
            for active in screen.active_bindings.values()
            if (binding := active.binding).show and active.node is not self and binding.description
        ]
        title = getattr(screen, "title_text", "This screen")
        self.push_screen(HelpScreen(title, section_keys))

    # ---- themes ----------------------------------------------------------------------------
    def action_cycle_theme(self) -> None:
        order = self.loaded_themes.cycle_order
        index = order.index(self.theme) if self.theme in order else -1
        self.theme = order[(index + 1) % len(order)]
        self.notify(f"Theme: {self.theme}", timeout=2)

    def _theme_changed(self, theme: Theme) -> None:
        if not self.has_context or theme.name == self._saved_theme:
            return
        try:
            set_config_value("ui.theme", theme.name, path=self.context.loaded.path)
        except (ConfigError, OSError) as exc:
            # The theme still applies to this session; only remembering it failed.
            self.notify(str(exc), title="Theme not saved", severity="error", timeout=10)
            return
        self._saved_theme = theme.name

    # ---- errors ----------------------------------------------------------------------------
    def report_worker_error(self, worker: Worker[Any]) -> None:
        """The one place a failed background task becomes something the user sees."""
        error = worker.error
        message = str(error) if error is not None and str(error) else type(error).__name__
        title = f"Could not {worker.name}" if worker.name else "Background task failed"
        self.notify(message, title=title, severity="error", timeout=10)


def run_app(
    workspace: str | None = None, *, context: Context | None = None, demo_job: str | None = None
) -> None:
    """Run the TUI on ``context`` (the CLI's, already open) or on ``workspace``; with
    ``demo_job``, on the Demo screen following it.

    Exits with status 1 when the workspace cannot be opened.
    """
    app = MagituiApp(context=context, workspace=workspace, demo_job=demo_job)
    app.run()
    if app.return_code:
        sys.exit(app.return_code)
