"""What every full screen shares: title bar, footer, worker errors, polling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from magitui.widgets.footer import KeyFooter
from magitui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from magitui.app import MagituiApp
    from magitui_core.context import Context

POLL_GROUP = "poll"
FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


class MagituiScreen(Screen[None]):
    """Base of every full screen.

    Worker state messages do not bubble, so each screen forwards its failed
    workers to the app here; that is the single place errors become notices.
    """

    TITLE_TEXT: ClassVar[str] = ""

    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._binding_state: tuple[object, ...] | None = None

    @property
    def magitui(self) -> MagituiApp:
        return cast("MagituiApp", self.app)

    @property
    def ctx(self) -> Context:
        return self.magitui.context

    @property
    def title_text(self) -> str:
        return self.TITLE_TEXT

    def compose(self) -> ComposeResult:
        yield TitleBar(self.title_text, str(self.ctx.workspace.root))
        yield from self.compose_body()
        # Compact and without the palette hint (ctrl+p is listed in the help): at 80 columns
        # every key of the busiest screen still fits, none cut in the middle.
        yield KeyFooter(compact=True, show_command_palette=False)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        # Keys whose state changed while another screen was shown were not redrawn then
        # (the footer reads only the screen on display): look again now.
        self.refresh_bindings()

    def binding_state(self) -> tuple[object, ...]:
        """What ``check_action`` depends on; the footer is redrawn only when it changes."""
        return ()

    def sync_bindings(self) -> None:
        # refresh_bindings recomposes the footer: do it when something changed, not per poll.
        state = self.binding_state()
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[Any]) -> None:
        self.magitui.report_worker_error(worker)


class PollingScreen(MagituiScreen):
    """A screen that re-reads the engine's files on a timer.

    The pattern dolphie uses: a thread worker takes a snapshot, the main thread
    renders it and only then arms the next timer, so polls never overlap or pile
    up however slow the disk is.
    Polling pauses while the screen is hidden (another mode, a modal on top).
    """

    POLL_WHAT: ClassVar[str] = "data"

    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._poll_timer: Timer | None = None
        self._polling = False
        self._poll_again = False
        self._suspended = False
        self._last_poll_error: str | None = None

    # ---- to implement ----------------------------------------------------------------------
    def collect(self) -> Any:
        """Runs in a thread: read whatever the screen shows. Must not touch widgets."""
        raise NotImplementedError

    def apply(self, snapshot: Any) -> None:
        """Runs on the main thread with what ``collect`` returned."""
        raise NotImplementedError

    @property
    def poll_seconds(self) -> float:
        return self.ctx.config.ui.refresh_seconds

    @property
    def poll_what(self) -> str:
        """Names the poll in errors: "Could not refresh <this>"."""
        return self.POLL_WHAT

    # ---- machinery -------------------------------------------------------------------------
    def on_mount(self) -> None:
        # After the first refresh, so every widget the snapshot lands in is mounted.
        self.call_after_refresh(self.poll_now)

    def on_screen_suspend(self) -> None:
        self._suspended = True
        self._cancel_timer()

    def on_screen_resume(self) -> None:
        if self._suspended:
            self._suspended = False
            self.poll_now()

    def poll_now(self) -> None:
        """Refresh as soon as possible (after the poll in flight, if any)."""
        self._cancel_timer()
        if self._polling:
            self._poll_again = True
            return
        self._polling = True
        self.run_worker(
            self.collect,
            name=f"refresh {self.poll_what}",
            group=POLL_GROUP,
            exclusive=True,  # belt and braces: the _polling flag already prevents overlap
            thread=True,
            exit_on_error=False,
        )

    def _cancel_timer(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != POLL_GROUP or event.state not in FINISHED:
            return
        self._polling = False
        if event.state is WorkerState.SUCCESS:
            self._last_poll_error = None
            self.apply(event.worker.result)
        if self._poll_again:
            self._poll_again = False
            self.poll_now()
        elif not self._suspended and self.is_attached:
            self._poll_timer = self.set_timer(self.poll_seconds, self.poll_now)

    def worker_failed(self, worker: Worker[Any]) -> None:
        if worker.group == POLL_GROUP:
            # A poll that keeps failing the same way is reported once, not every second.
            message = str(worker.error)
            if message == self._last_poll_error:
                return
            self._last_poll_error = message
        super().worker_failed(worker)
